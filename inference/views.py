"""Pages of the models area: the registry, training, triage and cleaning, workers."""

from django.core import signing
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from ovarian_web.roles import Role, role_required

from . import selectors
from .models import ImagePrediction


@require_GET
@role_required(*Role)
def heatmap(request, token: str):
    """A heatmap overlay, for whoever holds an address a page that may show it handed out."""
    try:
        prediction = selectors.heatmap_prediction(token)
    except (signing.BadSignature, ImagePrediction.DoesNotExist):
        raise Http404("No such heatmap") from None
    if not prediction.heatmap:
        raise Http404("No heatmap for this image")
    response = FileResponse(prediction.heatmap.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
