"""Routes of one area: pages (in the app's namespace) and API endpoints (under /api/)."""

urlpatterns = []
api_urlpatterns = []
