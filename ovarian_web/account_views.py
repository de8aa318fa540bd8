"""Signing in (password, then a TOTP code for users who set one up), two-factor enrolment
and the user's own API tokens."""

import base64
import io
import time

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user, match_token, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from base.roles import TWO_FACTOR

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60  # the password step is good for this long


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SignInView(LoginView):
    """The password step; users with a confirmed TOTP device go on to the code step,
    signed in only once the code is right."""

    def form_valid(self, form):
        user = form.get_user()
        if not user_has_device(user):
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "since": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("login_code")


def sign_in_code(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending["since"] > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return render(request, "registration/login_code.html", {"expired": True})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = get_object_or_404(get_user_model(), pk=pending["user"], is_active=True)
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING_KEY]
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            return redirect(pending["next"])
        form.add_error("code", "That code is not right, or it has expired. Try the next one.")
    return render(request, "registration/login_code.html", {"form": form})


def _qr_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up a TOTP authenticator: scan the code (or type the secret), confirm with a code.
    Also verifies a session that has not been (TWO_FACTOR_REQUIRED sends users here)."""
    user = request.user
    confirmed = list(devices_for_user(user, confirmed=True))
    form = CodeForm(request.POST or None)
    if confirmed:
        if request.method == "POST" and form.is_valid():
            device = match_token(user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                messages.success(request, "This session is verified.")
                return redirect("home")
            form.add_error("code", "That code is not right, or it has expired.")
        context = {"form": form, "confirmed": True}
        context["verified"] = DEVICE_ID_SESSION_KEY in request.session
        context["required"] = settings.TWO_FACTOR_REQUIRED and TWO_FACTOR.allows(user)
        return render(request, "registration/two_factor.html", context)
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Two-factor is on: you will be asked for a code each time.")
            return redirect("two_factor")
        form.add_error("code", "That code is not right: check the time on your phone.")
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "registration/two_factor.html",
        {
            "form": form,
            "confirmed": False,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": device.config_url,
            "qr": _qr_data_uri(device.config_url),
        },
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; a new one is shown once, then only its first characters."""
    new_token = None
    if request.method == "POST":
        _, new_token = AuthToken.objects.create(user=request.user)
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    return render(
        request,
        "registration/tokens.html",
        {"tokens": tokens, "new_token": new_token, "days": settings.REST_KNOX["TOKEN_TTL"].days},
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, key: str) -> HttpResponse:
    get_object_or_404(AuthToken, user=request.user, token_key=key).delete()
    messages.success(request, f"Token {key}… is revoked.")
    return redirect("tokens")
