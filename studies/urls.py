from studies.reading import urls as reading_urls
from studies.results import urls as results_urls

app_name = "studies"
urlpatterns = [*reading_urls.urlpatterns, *results_urls.urlpatterns]
