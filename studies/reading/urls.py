"""Routes of one area: pages (in the app's namespace) and API endpoints (under /api/)."""

from django.urls import path

from studies.design import views as design_views
from studies.reading import api as reading_api
from studies.reading import views as reading_views

urlpatterns = [
    path("reader-studies/", design_views.study_list, name="study_list"),
    path("reader-studies/new/", design_views.study_create, name="study_create"),
    path("reader-studies/<int:pk>/", design_views.study_detail, name="study_detail"),
    path("reader-studies/<int:pk>/edit/", design_views.study_edit, name="study_edit"),
    path("reader-studies/<int:pk>/open/", design_views.study_open, name="study_open"),
    path("reader-studies/<int:pk>/close/", design_views.study_close, name="study_close"),
    path(
        "reader-studies/<int:pk>/readers/<int:reader_id>/",
        design_views.study_reader_edit,
        name="study_reader_edit",
    ),
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
