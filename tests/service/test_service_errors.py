"""Bad requests get a 4xx with the JSON error shape; no input yields a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_testkit import Lab

MIB = 1024 * 1024


def test_garbage_json_is_a_400(lab: Lab) -> None:
    with lab.client() as client:
        response = client.post(
            "/policies", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["message"].startswith("the request is invalid: body.1: JSON decode error")


def test_unknown_field_is_a_422_naming_it(lab: Lab) -> None:
    with lab.client() as client:
        response = client.post("/policies", json={"name": "p", "colour": "blue"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "the request is invalid: body.colour: Extra inputs are not permitted"
    )


def test_wrong_type_is_a_422(lab: Lab) -> None:
    with lab.client() as client:
        response = client.post("/policies", json={"name": "p", "retention_hours": "24"})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "the request is invalid: body.retention_hours: Input should be a valid integer"
    )


def test_domain_refusal_keeps_the_models_message(lab: Lab) -> None:
    with lab.client() as client:
        response = client.post("/policies", json={"name": "p", "copy_frequency_sec": 60})
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "type": "PolicyError",
            "message": "policy 'p': copy frequency 60 s is not one Hyper-V supports",
            "hint": "use 30, 300 or 900 seconds",
        }
    }


def test_body_over_one_mib_is_a_413(lab: Lab) -> None:
    with lab.client() as client:
        response = client.post("/policies", content=b"x" * (MIB + 1))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "type": "ValidationError",
        "message": f"the request body is over the {MIB} bytes this service accepts",
        "hint": "",
    }


def test_chunked_body_over_the_limit_is_a_413(lab: Lab) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536

    with lab.client() as client:
        response = client.post("/policies", content=chunks())
    assert response.status_code == 413


def test_unknown_route_and_method(lab: Lab) -> None:
    with lab.client() as client:
        missing = client.get("/nothing")
        wrong = client.put("/fabrics")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "type": "NotFound",
        "message": "no route '/nothing'",
        "hint": "",
    }
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "ValidationError"


def test_unknown_objects_are_404(lab: Lab) -> None:
    with lab.client() as client:
        fabric = client.get("/fabrics/nope")
        job = client.get("/jobs/nope")
    assert fabric.status_code == 404
    assert fabric.json()["error"]["message"] == "no fabric named 'nope' is registered"
    assert job.status_code == 404


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
POST_PATHS = [
    "/fabrics",
    "/policies",
    "/targets",
    "/items",
    "/mappings/networks",
    "/mappings/storage",
    "/jobs/x/resume",
]
FIELDS = ["name", "kind", "address", "machines", "policy", "target", "fabric", "retry", "skip"]


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(POST_PATHS),
    body=st.one_of(
        JSON_VALUES,
        st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=5),
    ),
)
def test_fuzzed_bodies_never_yield_a_500(lab: Lab, path: str, body: object) -> None:
    with lab.client() as client:
        response = client.post(path, content=json.dumps(body).encode())
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()["error"]) == {"type", "message", "hint"}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    resource=st.sampled_from(["fabrics", "policies", "items", "jobs"]),
    segment=st.text(min_size=1, max_size=30),
    raw=st.binary(max_size=64),
)
def test_fuzzed_paths_and_raw_bodies_never_yield_a_500(
    lab: Lab, resource: str, segment: str, raw: bytes
) -> None:
    with lab.client() as client:
        shown = client.get(f"/{resource}/{quote(segment, safe='')}")
        posted = client.post("/" + resource, content=raw)
    for response in (shown, posted):
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"type", "message", "hint"}


@pytest.mark.parametrize("query", ["state=bogus", "state="])
def test_bad_query_values_are_422(lab: Lab, query: str) -> None:
    with lab.client() as client:
        response = client.get(f"/jobs?{query}")
    assert response.status_code == 422
