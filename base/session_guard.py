"""Middleware that ends idle sessions and holds back roles that must use two-factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from base.roles import TWO_FACTOR

LAST_SEEN_KEY = "last_seen"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def last_seen_stamp(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Stamped at sign-in (user_logged_in), so the first request after it writes no session."""
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        session[LAST_SEEN_KEY] = int(time.time())


class SessionIdleTimeoutMiddleware:
    """A signed-in session unused for SESSION_IDLE_TIMEOUT_SECONDS is signed out. Every
    request counts as use, the labelling and reading pages' autosaves included.
    Token-authenticated API calls carry no session and are not affected."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                logout(request)
                return self.expired(request)
            # Written at most once a minute (or a tenth of the timeout), not on every request
            # (each autosave); the timeout is exact to within that.
            resolution = min(60, settings.SESSION_IDLE_TIMEOUT_SECONDS // 10)
            if last_seen is None or now - last_seen >= resolution:
                session[LAST_SEEN_KEY] = now
        return self.get_response(request)

    @staticmethod
    def expired(request: HttpRequest) -> HttpResponse:
        minutes = settings.SESSION_IDLE_TIMEOUT_SECONDS // 60
        message = f"You were signed out after {minutes} minutes without activity."
        if _is_api(request):
            response = JsonResponse({"detail": f"{message} Sign in again."}, status=401)
            response["WWW-Authenticate"] = 'Session realm="api"'
            return response
        messages.info(request, message)
        return redirect_to_login(request.get_full_path())


class TwoFactorRequiredMiddleware:
    """With TWO_FACTOR_REQUIRED, clinicians and administrators whose session was not
    verified with a code reach only the enrolment page (and can sign out)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if (
            settings.TWO_FACTOR_REQUIRED
            and SESSION_KEY in session
            and DEVICE_ID_SESSION_KEY not in session
            and request.path not in (reverse("two_factor"), reverse("logout"))
            and TWO_FACTOR.allows(request.user)
        ):
            message = "Your role signs in with two-factor: set it up to go on."
            if _is_api(request):
                return JsonResponse({"detail": message}, status=403)
            messages.info(request, message)
            return redirect("two_factor")
        return self.get_response(request)
