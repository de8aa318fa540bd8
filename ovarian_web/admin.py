from django.contrib import admin
from django.core.exceptions import PermissionDenied


class AdminSite(admin.AdminSite):
    """The Django admin, for administrators; other signed-in roles get 403, not a login form."""

    site_header = "Ovarian ultrasound AI — administration"
    site_title = "Administration"

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("The admin is for administrators.")
        return super().login(request, extra_context)
