from studies.design import urls as design_urls
from studies.reading import urls as reading_urls
from studies.results import urls as results_urls

app_name = "studies"
urlpatterns = [*design_urls.urlpatterns, *reading_urls.urlpatterns, *results_urls.urlpatterns]
