from django.urls import path

from . import clinical_views, import_views, views

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
    path("images/<int:pk>/thumbnail", views.image_thumbnail, name="image_thumbnail"),
    path("data/", views.overview, name="overview"),
    path("jobs/", views.job_list, name="job_list"),
    path("imports/new/", import_views.import_new, name="import_new"),
    path("clinical/upload/", clinical_views.clinical_upload, name="clinical_upload"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("jobs/demo-data/", views.demo_job_start, name="demo_job_start"),
    path("jobs/demo-data/<int:pk>/retry/", views.demo_job_retry, name="demo_job_retry"),
]
