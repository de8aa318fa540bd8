"""Heatmap addresses: links of the one scheme (annotation.imaging.links), bound to one viewer,
for as long as the pages need them."""

from django.urls import reverse

from annotation.imaging.links import LinkKind, sign, verify
from inference.models import ImagePrediction

# Unrounded: a heatmap link lives exactly HEATMAP_LINK_SECONDS (minutes), as long as the
# browser may cache it. The token is one path segment, so "." separates its parts.
HEATMAP = LinkKind("heatmap", "HEATMAP_LINK_SECONDS", rounded=False, separator=".")


def heatmap_token(prediction_id: int, *, viewer_id: int) -> str:
    return sign(HEATMAP, str(prediction_id), viewer_id=viewer_id)


def heatmap_url(prediction_id: int, *, viewer_id: int) -> str:
    """A signed address for one viewer: only pages that may show them AI output hand it out,
    and the heatmap view asks again whether they may see it now."""
    return reverse("inference:heatmap", args=[heatmap_token(prediction_id, viewer_id=viewer_id)])


def heatmap_prediction(token: str, *, viewer_id: int) -> ImagePrediction:
    """The prediction a signed address names; LinkError when forged, expired, an image link
    or handed out to someone else, ImagePrediction.DoesNotExist when it is gone."""
    subject, _ = verify(HEATMAP, token, viewer_id=viewer_id)
    if not subject.isdigit():
        raise ImagePrediction.DoesNotExist
    return ImagePrediction.objects.select_related("image").get(pk=int(subject))
