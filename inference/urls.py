from inference import report_urls, training_urls

app_name = "inference"
urlpatterns = [*training_urls.urlpatterns, *report_urls.urlpatterns]
