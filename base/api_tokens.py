"""API tokens for scripts: made with a username and password (and a TOTP code once the user
has set one up), through the same lockout as the sign-in page; revoked by their holder."""

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django_otp import match_token, user_has_device
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from base.api_responses import DetailSerializer
from base.roles import TWO_FACTOR


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    code = serializers.CharField(required=False, allow_blank=True, help_text="TOTP code")


class ApiTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="send as `Authorization: Token <token>`")
    token_key = serializers.CharField(help_text="its first characters, shown on the page")
    expiry = serializers.DateTimeField()


def _refused(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": message}, status=code)


@extend_schema(
    request=TokenRequestSerializer,
    responses={201: ApiTokenSerializer, 400: DetailSerializer, 429: DetailSerializer},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def token_create(request):
    """A new API token (shown once). Wrong passwords count towards the lockout of this
    username from this address, as on the sign-in page."""
    given = TokenRequestSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    credentials = given.validated_data
    # The Django request: axes marks it when the username+address is locked out.
    http_request = request._request
    user = authenticate(
        http_request, username=credentials["username"], password=credentials["password"]
    )
    if user is None:
        return _refused("Unable to sign in with that username and password.")
    if user_has_device(user):
        if match_token(user, credentials.get("code", "")) is None:
            # A wrong code counts towards the lockout too.
            user_login_failed.send(
                sender=__name__,
                credentials={"username": credentials["username"]},
                request=http_request,
            )
            return _refused("This account needs a current code from its authenticator app.")
    elif settings.TWO_FACTOR_REQUIRED and TWO_FACTOR.allows(user):
        return _refused("Your role needs two-factor: set it up on the Two-factor page first.")
    instance, token = AuthToken.objects.create(user=user)
    user_logged_in.send(sender=user.__class__, request=http_request, user=user)
    return Response(
        {"token": token, "token_key": instance.token_key, "expiry": instance.expiry},
        status=status.HTTP_201_CREATED,
    )


class RevokeSerializer(serializers.Serializer):
    token_key = serializers.CharField(
        required=False, help_text="which of your tokens; without it, the one sending this"
    )


@extend_schema(
    request=RevokeSerializer, responses={204: None, 400: DetailSerializer, 404: DetailSerializer}
)
@api_view(["POST"])
@authentication_classes([SessionAuthentication, TokenAuthentication])
@permission_classes([IsAuthenticated])
def token_revoke(request):
    """Revoke one of your tokens: the one named, or the one this request was made with."""
    given = RevokeSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    key = given.validated_data.get("token_key")
    if key:
        revoked, _ = AuthToken.objects.filter(user=request.user, token_key=key).delete()
        if not revoked:
            return _refused("You have no token that starts with that key.", 404)
    elif isinstance(request.auth, AuthToken):
        request.auth.delete()
    else:
        return _refused("Say which token to revoke (token_key), or send this with the token.")
    return Response(status=status.HTTP_204_NO_CONTENT)
