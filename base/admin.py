from django.contrib import admin

from base.models import AccessLogEntry


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only for everyone, administrators included."""

    list_display = ("at", "username", "action", "patient_id", "target", "ip_address")
    list_filter = ("action", "at")
    search_fields = ("username", "target")
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
