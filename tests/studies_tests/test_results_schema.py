"""The results documents match the serializers that describe them in the OpenAPI document:
every key they send is described, with its type (docs/reader_study_results.md)."""

import json

import jsonschema
import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from studies.results import source_results
from tests.studies_tests import test_subgroups
from tests.studies_tests.test_results_pages import coordinator, designed, study  # noqa: F401


@pytest.fixture(scope="module")
def components() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))["components"]["schemas"]


def _strict(schema):
    """OpenAPI 3.0 to JSON Schema: `nullable` allows null; a described object allows no
    other keys, so an undescribed key fails."""
    if isinstance(schema, list):
        return [_strict(part) for part in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _strict(value) for key, value in schema.items()}
    if schema.pop("nullable", False):
        if "type" in schema:
            schema["type"] = [schema["type"], "null"]
        else:
            schema = {"anyOf": [schema, {"type": "null"}]}
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    return schema


def _check(document, name: str, components: dict) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": components}}
    jsonschema.validate(document, _strict(schema))


def test_the_imported_document_matches_its_schema(coordinator, study, components):  # noqa: F811
    for options in ({}, {"complete_only": "1", "covariance": "delong"}):
        url = reverse("imported-study-results", args=[study.pk])
        _check(coordinator.get(url, options).json(), "StudyResults", components)


def test_the_designed_document_matches_its_schema(coordinator, designed, components):  # noqa: F811
    document = coordinator.get(reverse("designed-study-results", args=[designed.pk])).json()
    assert document["ai"] is not None and document["revisions"] == []
    _check(document, "StudyResults", components)


def test_the_subgroups_match_their_schema(db, components):
    document = json.loads(json.dumps(source_results(test_subgroups._source())))
    assert document["subgroups"]["experience"]
    _check(document, "StudyResults", components)


def test_the_older_document_and_the_list_match_theirs(coordinator, study, components):  # noqa: F811
    legacy = coordinator.get(reverse("reader-study-results", args=[study.name])).json()
    _check(legacy, "ReaderStudyResults", components)
    listing = coordinator.get(reverse("imported-study-list")).json()
    _check(listing[0], "ImportedReaderStudy", components)


def test_an_undescribed_key_fails(coordinator, study, components):  # noqa: F811
    document = coordinator.get(reverse("imported-study-results", args=[study.pk])).json()
    document["study"]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        _check(document, "StudyResults", components)
