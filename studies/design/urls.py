"""The coordinator's reader-study pages (in the app's namespace)."""

from django.urls import path

from studies.design import views

urlpatterns = [
    path("reader-studies/", views.study_list, name="study_list"),
    path("reader-studies/new/", views.study_create, name="study_create"),
    path("reader-studies/<int:pk>/", views.study_detail, name="study_detail"),
    path("reader-studies/<int:pk>/edit/", views.study_edit, name="study_edit"),
    path("reader-studies/<int:pk>/open/", views.study_open, name="study_open"),
    path("reader-studies/<int:pk>/close/", views.study_close, name="study_close"),
    path(
        "reader-studies/<int:pk>/readers/<int:reader_id>/",
        views.study_reader_edit,
        name="study_reader_edit",
    ),
]
