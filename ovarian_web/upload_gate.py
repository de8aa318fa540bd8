"""Which requests the production server lets send a large body: a POST to an upload route
from a signed-in user whose role may use that route (up to the route's own cap:
HTTP_MAX_UPLOAD_BYTES for image imports and checkpoints, a little over the clinical CSV's
own limit for that page).

Everyone else gets HTTP_MAX_BODY_BYTES, so an anonymous client cannot make the server
read and spool an upload-sized body only to answer 403 after it. The check runs after the
headers and before the body (http_threads.RequestThreads): the route by URL on the event
loop, the user (session cookie, or an API token as DRF reads it) on a request thread.
The view checks everything again (CSRF, two-factor, idle timeout, the object), as always:
this only sets the cap, so a holder of valid credentials of such a role may at worst send
a large body that the view then refuses.
"""

from importlib import import_module
from io import BytesIO

from django.conf import settings
from django.contrib.auth import get_user
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.settings import api_settings

from annotation.importing import clinical_csv
from base.roles import COORDINATION, Policy
from ovarian_web.http_threads import UploadGate, wsgi_environ

FORM_BYTES = 1024 * 1024  # room for a form's other fields and multipart framing

# URL name -> (who may send a large body there, its cap; None: HTTP_MAX_UPLOAD_BYTES).
UPLOAD_ROUTES: dict[str, tuple[Policy, int | None]] = {
    "import-files": (COORDINATION, None),  # POST /api/imports/{id}/files/
    "annotation:clinical_upload": (COORDINATION, clinical_csv.MAX_FILE_BYTES + FORM_BYTES),
    "inference:checkpoint_upload": (COORDINATION, None),
}


def _route(scope: dict) -> tuple[Policy, int | None] | None:
    root = scope.get("root_path", "")
    path = scope["path"][len(root) :] if root and scope["path"].startswith(root) else scope["path"]
    try:
        return UPLOAD_ROUTES.get(resolve(path).view_name)
    except Resolver404:
        return None


def _request(scope: dict) -> HttpRequest:
    """The request as Django will see it, without its body (not read yet)."""
    return WSGIRequest(wsgi_environ(scope, BytesIO()))


def _session_user(request: HttpRequest):
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = get_user(request)  # checks the session's password hash, as a request would
    return user if user.is_authenticated else None


def _api_user(request: HttpRequest):
    """The user of an API token (or other header credentials), as DRF would find it."""
    for authenticator in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authenticator, SessionAuthentication):
            continue  # done above, without DRF's CSRF check (the view makes it)
        try:
            found = authenticator().authenticate(Request(request))
        except AuthenticationFailed:
            return None
        if found is not None:
            return found[0]
    return None


class RoleUploadGate(UploadGate):
    def __init__(self, upload_bytes: int) -> None:
        self.upload_bytes = upload_bytes

    def route(self, scope: dict) -> bool:
        return _route(scope) is not None

    def cap(self, scope: dict) -> int | None:
        found = _route(scope)
        if found is None:
            return None
        policy, cap = found
        close_old_connections()  # as a request starts: a kept connection is checked first
        request = _request(scope)
        user = _session_user(request) or _api_user(request)
        if user is None or not policy.allows(user):
            return None
        return cap or self.upload_bytes
