from studies import reading_urls, results_urls

app_name = "studies"
urlpatterns = [*reading_urls.urlpatterns, *results_urls.urlpatterns]
