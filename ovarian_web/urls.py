from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ovarian_web import account_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/login/code/", account_views.sign_in_code, name="login_code"),
    path("accounts/two-factor/", account_views.two_factor, name="two_factor"),
    path("accounts/tokens/", account_views.token_list, name="tokens"),
    path("accounts/tokens/<str:key>/revoke/", account_views.token_revoke, name="token_revoke"),
    path("access-log/", views.access_log, name="access_log"),
    path("access-log.csv", views.access_log_export, name="access_log_export"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (the CSP allows no inline
    # one); Swagger UI adds <style> elements as it draws, which cannot run code.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("api/", include("ovarian_web.api_urls")),
    path("", include("annotation.urls")),
    path("studies/", include("studies.urls")),
    path("ai/", include("inference.urls")),
]
