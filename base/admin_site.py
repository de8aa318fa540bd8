from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied


class AdminSite(admin.AdminSite):
    """The Django admin, for administrators; other signed-in roles get 403, not a login form."""

    site_header = "Ovarian ultrasound AI — administration"
    site_title = "Administration"

    def has_permission(self, request) -> bool:
        # Imported here: this module loads while the app registry is still being filled.
        from base.roles import ADMINISTRATION

        return request.user.is_active and ADMINISTRATION.allows(request.user)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("The admin is for administrators.")
        return super().login(request, extra_context)


class OvarianAdminConfig(AdminConfig):
    default_site = "base.admin_site.AdminSite"
