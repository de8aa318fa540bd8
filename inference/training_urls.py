"""Routes of the models area: pages (namespace "inference") and API endpoints (under /api/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("heatmaps/<str:token>/", views.heatmap, name="heatmap"),
]
api_urlpatterns = []
