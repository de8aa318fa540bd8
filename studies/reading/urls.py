"""Routes of one area: pages (in the app's namespace) and API endpoints (under /api/)."""

from django.urls import path

from studies.reading import api as reading_api
from studies.reading import views as reading_views

urlpatterns = [
    path("reading/", reading_views.reading_list, name="reading_list"),
    path("reading/<int:pk>/", reading_views.reading_screen, name="reading_screen"),
]
api_urlpatterns = [
    path("reading/sessions/", reading_api.reading_sessions, name="reading-sessions"),
    path("reading/sessions/<int:pk>/next/", reading_api.reading_next_api, name="reading-next"),
    path("reading/sessions/<int:pk>/history/", reading_api.reading_history, name="reading-history"),
    path("reading/cases/<int:pk>/", reading_api.reading_case, name="reading-case"),
    path("reading/cases/<int:pk>/submit/", reading_api.reading_submit_api, name="reading-submit"),
    path(
        "designed-studies/<int:pk>/progress/",
        reading_api.designed_study_progress,
        name="designed-study-progress",
    ),
]
