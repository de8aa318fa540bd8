from django.urls import path

from annotation import views
from annotation.importing import clinical_views
from annotation.importing import views as import_views
from annotation.labelling import set_views
from annotation.labelling import views as labelling_views

app_name = "annotation"

urlpatterns = [
    path("exams/", views.exam_list, name="exam_list"),
    path("exams/<int:pk>/", views.exam_detail, name="exam_detail"),
    path("patients/find/", views.patient_find, name="patient_find"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("patients/<int:pk>/delete/", views.patient_delete, name="patient_delete"),
    path("images/", views.image_list, name="image_list"),
    path("images/<int:pk>/", views.image_detail, name="image_detail"),
    path("images/<int:pk>/file", views.image_file, name="image_file"),
    path("files/<path:rest>", views.image_link_file, name="image_link_file"),
    path("images/<int:pk>/thumbnail", views.image_thumbnail, name="image_thumbnail"),
    path("data/", views.overview, name="overview"),
    path("jobs/", views.job_list, name="job_list"),
    path("imports/new/", import_views.import_new, name="import_new"),
    path("clinical/upload/", clinical_views.clinical_upload, name="clinical_upload"),
    path("annotation-sets/", set_views.set_list, name="set_list"),
    path("annotation-sets/<int:pk>/", set_views.set_detail, name="set_detail"),
    path("annotation-sets/<int:pk>/progress/", set_views.set_progress, name="set_progress"),
    path("annotation-sets/<int:pk>/agreement/", set_views.set_agreement, name="set_agreement"),
    path(
        "annotation-sets/<int:pk>/readers/<int:reader_id>/remove/",
        set_views.set_reader_remove,
        name="set_reader_remove",
    ),
    path(
        "annotation-sets/<int:pk>/export/<str:what>.<str:fmt>",
        set_views.set_export,
        name="set_export",
    ),
    path(
        "annotation-sets/<int:pk>/adjudication/",
        set_views.adjudication_queue,
        name="adjudication_queue",
    ),
    path(
        "annotation-sets/<int:pk>/adjudication/<int:item_id>/",
        set_views.adjudication_review,
        name="adjudication_review",
    ),
    path("flags/", set_views.flag_list, name="flag_list"),
    path("flags/<int:pk>/resolve/", set_views.flag_resolve, name="flag_resolve"),
    path("labelling/", labelling_views.labelling_list, name="labelling_list"),
    path("labelling/sets/<int:set_id>/", labelling_views.labelling_screen, name="labelling_screen"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("jobs/demo-data/", views.demo_job_start, name="demo_job_start"),
    path("jobs/demo-data/<int:pk>/retry/", views.demo_job_retry, name="demo_job_retry"),
]
