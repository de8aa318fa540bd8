"""How django-axes sees a client and answers one that is locked out (settings: AXES_*)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def client_address(request: HttpRequest) -> str | None:
    """The peer's address. The production server already puts the client behind a trusted
    proxy here (uvicorn's proxy headers); a client-sent X-Forwarded-For is never read, so
    nobody can pick the address their failures count against."""
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed sign-ins for this username from your address. Try again in "
        f"{minutes} minutes, or ask an administrator to unlock it."
    )


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """429 for a locked-out username+address: JSON for the API, a page for people."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=429)
    response = render(
        request, "registration/locked_out.html", {"message": lockout_message()}, status=429
    )
    return response if isinstance(response, HttpResponse) else HttpResponse(status=429)
