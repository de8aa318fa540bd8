"""Routes of the models area: pages (namespace "inference") and API endpoints (under /api/)."""

from django.urls import path

from inference import cleaning_views, heatmap_views, views

urlpatterns = [
    path("heatmaps/<str:token>/", heatmap_views.heatmap, name="heatmap"),
    path("models/", views.model_list, name="model_list"),
    path("models/train/", views.training_start, name="training_start"),
    path("models/upload/", views.checkpoint_upload, name="checkpoint_upload"),
    path("models/ensembles/", views.ensemble_create, name="ensemble_create"),
    path("models/score/", views.scoring_start, name="scoring_start"),
    path(
        "models/ensembles/<int:pk>/in-service/",
        views.ensemble_in_service,
        name="ensemble_in_service",
    ),
    path("models/<int:pk>/in-service/", views.version_in_service, name="version_in_service"),
    path("models/<int:pk>/retire/", views.version_retire, name="version_retire"),
    path("training/<int:pk>/", views.training_detail, name="training_detail"),
    path("training/<int:pk>/stop/", views.training_stop, name="training_stop"),
    path("training/<int:pk>/retry/", views.training_retry, name="training_retry"),
    path("cleaning/", cleaning_views.cleaning_page, name="cleaning"),
    path("cleaning/triage/", cleaning_views.triage_start, name="triage_start"),
    path("cleaning/apply/", cleaning_views.cleaning_apply, name="cleaning_apply"),
    path(
        "cleaning/exclusions/<int:pk>/restore/",
        cleaning_views.exclusion_restore,
        name="exclusion_restore",
    ),
    path("workers/", cleaning_views.workers_page, name="workers"),
]
api_urlpatterns = []
