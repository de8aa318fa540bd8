"""Query parameters of the API views, read through a serializer.

Each view declares its parameters as a serializer: the same class is given to
`extend_schema(parameters=[...])`, so the OpenAPI document lists them, and read here, so a
malformed value is a 400 that names the parameter and the reason, never a server error.
"""

from rest_framework import serializers
from rest_framework.request import Request

# Primary keys are BigAutoField: a larger number names nothing and would overflow the query.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """An object's primary key, as a query parameter or in a body."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


def query_params(request: Request, serializer_class: type[serializers.Serializer]) -> dict:
    """The request's query parameters as `serializer_class` validates them.

    Raises ValidationError (DRF answers 400 with each parameter's reason)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
