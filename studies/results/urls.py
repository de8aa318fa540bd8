"""Routes of one area: pages (in the app's namespace) and API endpoints (under /api/).

Reader-study results (imported and designed studies) and the planning page.
"""

from django.urls import path

from studies.results import views

urlpatterns = [
    path("imported/", views.imported_list, name="imported_list"),
    path("imported/<int:pk>/results/", views.imported_results, name="imported_results"),
    path(
        "imported/<int:pk>/results/<str:what>/",
        views.imported_results_download,
        name="imported_results_download",
    ),
    path("designed/<int:pk>/results/", views.designed_results, name="designed_results"),
    path(
        "designed/<int:pk>/results/<str:what>/",
        views.designed_results_download,
        name="designed_results_download",
    ),
    path("planning/", views.planning, name="planning"),
]

api_urlpatterns = [
    path("imported-studies/", views.imported_study_list_api, name="imported-study-list"),
    path(
        "imported-studies/<int:pk>/results/",
        views.imported_study_results_api,
        name="imported-study-results",
    ),
    path(
        "imported-studies/<int:pk>/results.csv",
        views.imported_study_results_table_api,
        name="imported-study-results-table",
    ),
    path(
        "imported-studies/<int:pk>/readings.csv",
        views.imported_study_readings_api,
        name="imported-study-readings",
    ),
    path(
        "designed-studies/<int:pk>/results/",
        views.designed_study_results_api,
        name="designed-study-results",
    ),
    path(
        "designed-studies/<int:pk>/results.csv",
        views.designed_study_results_table_api,
        name="designed-study-results-table",
    ),
    path(
        "designed-studies/<int:pk>/readings.csv",
        views.designed_study_readings_api,
        name="designed-study-readings",
    ),
]
