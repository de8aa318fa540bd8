"""Signed heatmap addresses: for one viewer, for as long as the pages need them."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from inference.models import ImagePrediction

HEATMAP_SALT = "inference.heatmap"
HEATMAP_MAX_AGE = settings.HEATMAP_LINK_SECONDS  # minutes: what the pages need


def heatmap_url(prediction_id: int, *, viewer_id: int) -> str:
    """A signed address for one viewer: only pages that may show them AI output hand it out,
    and the heatmap view asks again whether they may see it now."""
    token = signing.dumps([prediction_id, viewer_id], salt=HEATMAP_SALT)
    return reverse("inference:heatmap", args=[token])


def heatmap_prediction(token: str, *, viewer_id: int) -> ImagePrediction:
    """The prediction a signed address names; signing.BadSignature when forged, expired or
    handed out to someone else."""
    value = signing.loads(token, salt=HEATMAP_SALT, max_age=HEATMAP_MAX_AGE)
    if not (isinstance(value, list) and len(value) == 2 and value[1] == viewer_id):
        raise signing.BadSignature("this address was handed out to another viewer")
    return ImagePrediction.objects.select_related("image").get(pk=value[0])
