"""Every API operation, fuzzed from the OpenAPI document: no request gives a server error.

Schemathesis generates each operation's path, query and body from the schema drf-spectacular
serves, valid and invalid alike; the requests go through Django's test client as a user who
holds every role, over the permission matrix's objects, so object routes sometimes hit an
existing object. A bounded number of examples per operation, derandomised: CI runs the same
requests every time.
"""

import json
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Group
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.transport.requests import REQUESTS_TRANSPORT

from base.roles import Role
from studies.models import ImportedReaderStudy

# The permission matrix's objects: a set with a label, exams, jobs, reader studies.
from tests.ovarian_web_tests.test_permissions import objects  # noqa: F401

EXAMPLES = 20  # per operation, valid and invalid requests mixed
# Each of these requests builds the whole OpenAPI document.
FEWER = {"GET /api/schema/": 3}


def _document() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = {
    operation.label: operation for operation in (r.ok() for r in SCHEMA.get_all_operations())
}


def _strategy(operation):
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    try:
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    except Exception:  # noqa: BLE001  an operation with nothing to make invalid
        return positive
    return st.one_of(positive, negative)


@pytest.fixture
def known(objects):  # noqa: F811
    """Values of path parameters that name existing objects, by parameter name."""
    pks = sorted({value.pk for value in objects.values() if hasattr(value, "pk")})
    return {
        "name": list(ImportedReaderStudy.objects.values_list("name", flat=True)) or ["none"],
        "what": ["labels", "consensus", "progress"],
        **{name: pks for name in ("id", "pk", "set_id", "exam_id", "image_id")},
    }


@pytest.fixture
def every_role_client(client, objects):  # noqa: F811
    """The set's reader and adjudicator, given every role, signed in."""
    user = objects["member"]
    user.groups.add(*Group.objects.filter(name__in=[role.value for role in Role]))
    client.force_login(user)
    return client


def _send(client, case):
    prepared = REQUESTS_TRANSPORT.serialize_case(case, base_url="http://testserver")
    request = requests.Request(**prepared).prepare()
    target = urlsplit(request.url)
    path = target.path + (f"?{target.query}" if target.query else "")
    body = request.body or b""
    return client.generic(
        case.method,
        path,
        data=body.encode() if isinstance(body, str) else body,
        content_type=request.headers.get("Content-Type", "application/octet-stream"),
    )


def _check(client, known, operation) -> None:
    """Run the operation's examples; raises on the first server error (shrunk)."""
    cases = _strategy(operation)

    @settings(
        max_examples=FEWER.get(operation.label, EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        case = data.draw(cases)
        if case.path_parameters and data.draw(st.booleans()):
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
        response = _send(client, case)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}: "
            f"{response.status_code}"
        )

    run()


@pytest.mark.django_db
def test_no_request_gives_a_server_error(every_role_client, known):
    # One test over every operation: the objects are made once (per operation, setting them
    # up took longer than the requests). Each failing operation is reported, not only the first.
    failures = []
    for label in sorted(OPERATIONS):
        try:
            _check(every_role_client, known, OPERATIONS[label])
        except Exception as error:  # noqa: BLE001  collected and reported below
            failures.append(f"{label}: {error!r}"[:2000])
    assert not failures, "\n\n".join(failures)


def _set(o):
    return {"set_id": o["set"].pk}


MALFORMED = [
    ("labelling-history", _set, {"before": "abc"}, "before"),
    ("labelling-history", _set, {"before": "0"}, "before"),
    ("annotation-set-export", lambda o: {**_set(o), "what": "labels"}, {"as": "xml"}, "as"),
    ("exam-list", None, {"outcome": "maybe"}, "outcome"),
    ("image-list", None, {"center": "C1\x00"}, "center"),
    ("reader-study-results", lambda o: {"name": "any"}, {"covariance": "guess"}, "covariance"),
    (
        "imported-study-results",
        lambda o: {"pk": o["imported_study"].pk},
        {"complete_only": "perhaps"},
        "complete_only",
    ),
    ("ai-result-list", None, {"date_from": "yesterday"}, "date_from"),
    ("ai-result-list", None, {"ensemble": "9" * 30}, "ensemble"),
    ("reading-history", lambda o: {"pk": o["reading_session"].pk}, {"before": "x"}, "before"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs", "query", "field"), MALFORMED)
def test_a_malformed_query_parameter_is_a_400_naming_it(
    every_role_client,
    objects,  # noqa: F811
    name,
    kwargs,
    query,
    field,
):
    if name.startswith("reading-"):  # a session is read by its own reader only
        every_role_client.force_login(objects["reading_session"].reader)
    url = reverse(name, kwargs=kwargs(objects) if kwargs else {})
    response = every_role_client.get(url, query)
    assert response.status_code == 400, response.content
    assert field in response.json()
