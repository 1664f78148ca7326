"""The simulated CX API on the wire: signatures, refusals, and the hardened request parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from fakes.inmage import CxServer, access_signature, serve_cx
from fakes.inmage.lab import PASSPHRASE, S5Lab, build_s5_lab
from plugins.inmage.signature import sign
from provider.contracts.connection import Secret

PATH = "/ScoutAPI/CXAPI.php"


@pytest.fixture
def lab() -> S5Lab:
    return build_s5_lab()


@pytest.fixture(params=["http", "https"])
def server(request: pytest.FixtureRequest, lab: S5Lab) -> Iterator[CxServer]:
    with serve_cx(lab.cx, tls=request.param == "https") as served:
        yield served


def _request(function: str, signature: str, request_id: str = "r-1") -> bytes:
    return (
        f'<Request Id="{request_id}" Version="1.0"><Header><Authentication>'
        "<AuthMethod>ComponentAuth_V2015_01</AuthMethod><AccessKeyID>tester</AccessKeyID>"
        f"<AccessSignature>{signature}</AccessSignature></Authentication></Header>"
        f'<Body><FunctionRequest Name="{function}"/></Body></Request>'
    ).encode()


def _post(server: CxServer, body: bytes) -> etree._Element:
    verify: bool | str = str(server.ca_cert) if server.tls else False
    answer = requests.post(server.url + PATH, data=body, verify=verify, timeout=10)
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "text/xml; charset=UTF-8")
    return etree.fromstring(answer.content)


def _signed(server: CxServer, function: str) -> str:
    return access_signature(PASSPHRASE, function, "r-1", "1.0", server.api.fingerprint)


def test_the_plugin_and_the_fake_sign_alike() -> None:
    for fingerprint in ("", "ab" * 32):
        assert sign(Secret("pass"), "GetHostInfo", "7", "1.0", fingerprint) == access_signature(
            "pass", "GetHostInfo", "7", "1.0", fingerprint
        )
    assert access_signature("pass", "GetHostInfo", "7", "1.0") == (
        "c273a0df95f912ae9c164b2d96bdabd382bae784db4b3f12814e6a7e9882283f"
    )


def test_a_good_signature_runs_the_function(server: CxServer, lab: S5Lab) -> None:
    root = _post(server, _request("ListScoutComponents", _signed(server, "ListScoutComponents")))
    assert (root.get("Returncode"), root.get("Message")) == ("0", "Success")
    function = root.find("Body/Function")
    assert function is not None
    assert (function.get("Name"), function.get("Returncode")) == ("ListScoutComponents", "0")
    names = [
        p.get("Value")
        for p in root.iterfind(".//ParameterGroup[@Id='ProcessServer']/Parameter[@Name='HostName']")
    ]
    assert names == ["ps01", "ps-dr"]


def test_a_bad_signature_gets_the_authentication_return_code(server: CxServer) -> None:
    wrong = access_signature("wrong", "ListScoutComponents", "r-1", "1.0", server.api.fingerprint)
    root = _post(server, _request("ListScoutComponents", wrong))
    assert dict(root.attrib) == {
        "ID": "r-1",
        "Version": "1.0",
        "Returncode": "1001",
        "Message": "Authentication failed: the access signature does not match.",
    }
    assert root.find("Body") is None
    assert server.api.calls == []


def test_over_https_a_signature_not_bound_to_the_certificate_is_refused(
    lab: S5Lab,
) -> None:
    with serve_cx(lab.cx, tls=True) as served:
        unbound = access_signature(PASSPHRASE, "ListEvents", "r-1", "1.0")
        assert _post(served, _request("ListEvents", unbound)).get("Returncode") == "1001"
        bound = access_signature(PASSPHRASE, "ListEvents", "r-1", "1.0", served.api.fingerprint)
        assert _post(served, _request("ListEvents", bound)).get("Returncode") == "0"


def test_a_request_with_a_dtd_is_refused_before_anything_runs(server: CxServer) -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE Request [<!ENTITY x "y">]>' + _request(
        "ListEvents", _signed(server, "ListEvents")
    )
    root = _post(server, body)
    assert (root.get("Returncode"), root.get("Message")) == (
        "1002",
        "Documents with a DTD are not accepted.",
    )
    assert server.api.calls == []


def test_an_unknown_function_is_a_function_error(server: CxServer) -> None:
    root = _post(server, _request("FormatAllDisks", _signed(server, "FormatAllDisks")))
    function = root.find("Body/Function")
    assert function is not None
    assert (function.get("Returncode"), function.get("Message")) == (
        "1003",
        "Function 'FormatAllDisks' is not supported.",
    )


def test_other_paths_and_methods_are_not_the_api(server: CxServer) -> None:
    verify: bool | str = str(server.ca_cert) if server.tls else False
    assert requests.post(server.url + "/other", verify=verify, timeout=10).status_code == 404
    assert requests.get(server.url + PATH, verify=verify, timeout=10).status_code == 405
