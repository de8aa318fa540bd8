"""Serializers of the API's shared response shapes, so the OpenAPI document describes them."""

from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """A refusal or an error: `{"detail": "why"}`."""

    detail = serializers.CharField()
