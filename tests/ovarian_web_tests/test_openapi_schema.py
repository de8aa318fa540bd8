"""Every API response is described: a JSON body has a typed schema in the OpenAPI document,
so a new endpoint that answers an undescribed `dict` breaks this test."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

# The schema document itself: its shape is the OpenAPI specification's.
EXEMPT = {("get", "/api/schema/")}
METHODS = {"get", "post", "put", "patch", "delete"}


def _document() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _typed(schema: dict | None, components: dict, seen: frozenset = frozenset()) -> bool:
    """Whether a schema says what is in it: a component, an object with properties (or
    typed values), a list of typed items, a scalar; a union of such."""
    if not schema:
        return False
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name in seen or _typed(components[name], components, seen | {name})
    for union in ("oneOf", "anyOf", "allOf"):
        if union in schema:
            return all(_typed(part, components, seen) for part in schema[union])
    kind = schema.get("type")
    if kind == "object":
        values = schema.get("additionalProperties")
        return "properties" in schema or (
            isinstance(values, dict) and _typed(values, components, seen)
        )
    if kind == "array":
        return _typed(schema.get("items"), components, seen)
    return kind is not None


def undescribed(document: dict) -> list[str]:
    """`METHOD path status`: each declared JSON answer (errors too) with no typed schema."""
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS or (method, path) in EXEMPT:
                continue
            for code, response in operation.get("responses", {}).items():
                for media_type, body in response.get("content", {}).items():
                    if "json" in media_type and not _typed(body.get("schema"), components):
                        found.append(f"{method.upper()} {path} {code}")
    return found


@pytest.fixture(scope="module")
def document() -> dict:
    return _document()


def test_every_json_response_has_a_typed_schema(document):
    assert undescribed(document) == []


def test_the_document_covers_every_api_route(document):
    assert len(document["paths"]) > 40
    assert "/api/ai/scoring/" in document["paths"]
    assert "/api/imported-studies/{id}/results/" in document["paths"]


def test_csv_endpoints_declare_text_csv_with_a_string_schema(document):
    for path in (
        "/api/imported-studies/{id}/results.csv",
        "/api/designed-studies/{id}/readings.csv",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {"text/csv": {"schema": {"type": "string"}}}


def _answer(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def test_an_untyped_answer_is_caught_an_error_too():
    untyped = {"type": "object", "additionalProperties": {}}
    described = {"$ref": "#/components/schemas/Y"}
    document = {
        "paths": {
            "/api/x/": {"get": {"responses": {"200": _answer(untyped)}}},
            "/api/y/": {
                "post": {"responses": {"201": _answer(described), "409": _answer(untyped)}}
            },
        },
        "components": {"schemas": {"Y": {"type": "object", "properties": {"a": {}}}}},
    }
    assert undescribed(document) == ["GET /api/x/ 200", "POST /api/y/ 409"]
