"""The access log: writing an entry where identified data is opened, and reading it back."""

import io
from datetime import date, datetime, time

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from base.csv_cells import csv_writer
from base.login_throttle import client_address
from base.models import AccessAction, AccessLogEntry

CSV_COLUMNS = ("at", "username", "action", "patient_id", "target", "ip_address", "path")


def access_log_record(
    *, request: HttpRequest, action: AccessAction, patient_id: int | None = None, target: str = ""
) -> AccessLogEntry:
    """Append an entry for the signed-in user of `request`. Never pass a hospital ID or
    other identifier as `target`: the log says what was opened, not what it contained."""
    user = request.user
    return AccessLogEntry.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        patient_id=patient_id,
        target=target[:200],
        ip_address=client_address(request),
        path=request.get_full_path()[:500],
    )


def access_log_entries(
    *,
    username: str = "",
    action: str = "",
    patient_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AccessLogEntry]:
    """Entries, newest first, filtered; `since` and `until` are whole days, both included."""
    entries = AccessLogEntry.objects.all()
    if username:
        entries = entries.filter(username__iexact=username)
    if action:
        entries = entries.filter(action=action)
    if patient_id is not None:
        entries = entries.filter(patient_id=patient_id)
    zone = timezone.get_current_timezone()
    if since:
        entries = entries.filter(at__gte=datetime.combine(since, time.min, zone))
    if until:
        entries = entries.filter(at__lte=datetime.combine(until, time.max, zone))
    return entries


def access_log_csv(entries: QuerySet[AccessLogEntry]) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)  # usernames and paths are text a spreadsheet must not run
    writer.writerow(CSV_COLUMNS)
    for row in entries.values_list(*CSV_COLUMNS).iterator():
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()
