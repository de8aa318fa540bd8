"""The heatmap overlay behind a signed address (inference.heatmap_links)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from annotation.imaging.links import LinkError
from base.roles import SIGNED_IN
from inference import heatmap_links, selectors
from inference.models import ImagePrediction


@require_GET
@SIGNED_IN.required
def heatmap(request, token: str):
    """A heatmap overlay, for the viewer a page that may show it handed the address to, and
    only while they may still see the exam's AI output (a reader-study reader may not)."""
    try:
        prediction = heatmap_links.heatmap_prediction(token, viewer_id=request.user.pk)
    except (LinkError, ImagePrediction.DoesNotExist):
        raise Http404("No such heatmap") from None
    if not prediction.heatmap:
        raise Http404("No heatmap for this image")
    exam_id = prediction.image.exam_id
    withheld = selectors.ai_release(request.user, [exam_id])
    if exam_id in withheld:
        raise PermissionDenied(f"This heatmap is withheld: {withheld[exam_id]}.")
    response = FileResponse(prediction.heatmap.open("rb"), content_type="image/png")
    # Cached no longer than the address lives: a reader who becomes blind to the exam gets no
    # new address, and the browser stops re-showing the old one with it.
    response["Cache-Control"] = f"private, max-age={settings.HEATMAP_LINK_SECONDS}"
    return response
