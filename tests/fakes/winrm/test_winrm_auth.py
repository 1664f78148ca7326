"""Basic and NTLM (sealed and clear), HTTPS with CA validation, wrong credentials."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError

from fakes.winrm import WinRMServer
from provider.errors import ConfigurationError

MakeServer = Callable[..., WinRMServer]
Connect = Callable[..., winrm.Session]


def test_ntlm_with_message_encryption_seals_every_soap_message(
    server: WinRMServer, connect: Connect
) -> None:
    response = connect(server, "ntlm").run_ps("sealed")

    assert (response.std_out, response.std_err, response.status_code) == (b"delaes", b"len=6", 6)
    stats = server.stats.snapshot()
    # Three handshake legs on one kept-alive connection (blank POST, negotiate, authenticate),
    # then the five sealed SOAP messages on that same authenticated connection.
    assert (stats.http_requests, stats.unauthorized, stats.sealed_messages) == (8, 2, 5)


def test_ntlm_without_message_encryption(server: WinRMServer, connect: Connect) -> None:
    response = connect(server, "ntlm", message_encryption="never").run_cmd("hostname")

    assert (response.std_out, response.status_code) == (b"hostname|", 0)
    stats = server.stats.snapshot()
    # The Create request rides the handshake's last leg, in clear.
    assert (stats.http_requests, stats.unauthorized, stats.sealed_messages) == (7, 2, 0)


def test_ntlm_session_runs_several_commands(server: WinRMServer, connect: Connect) -> None:
    session = connect(server, "ntlm")

    outputs = [session.run_ps(f"run {index}").std_out for index in range(3)]

    assert outputs == [b"0 nur", b"1 nur", b"2 nur"]


def test_concurrent_ntlm_sessions_keep_their_own_connection_state(
    server: WinRMServer, connect: Connect
) -> None:
    results: dict[int, list[bytes]] = {}

    def client(number: int) -> None:
        session = connect(server, "ntlm")
        results[number] = [session.run_ps(f"c{number}r{run}").std_out for run in range(2)]

    threads = [threading.Thread(target=client, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {n: [f"0r{n}c".encode(), f"1r{n}c".encode()] for n in range(4)}


@pytest.mark.parametrize("transport", ["basic", "ntlm"])
def test_wrong_password_raises_invalid_credentials(
    server: WinRMServer, connect: Connect, creds: Any, transport: str
) -> None:
    session = connect(server, transport, auth=(creds.user, "wrong"))

    with pytest.raises(InvalidCredentialsError, match="rejected by the server"):
        session.run_ps("x")


def test_ntlm_user_of_another_server_is_refused(make_server: MakeServer) -> None:
    make_server(users={"alice": "alice-pw"}, host_name="hv01")
    bobs = make_server(users={"bob": "bob-pw"}, host_name="hv02")
    session = winrm.Session(bobs.endpoint, auth=("alice", "alice-pw"), transport="ntlm")

    with pytest.raises(InvalidCredentialsError):
        session.run_ps("x")


def test_ntlm_with_a_domain_user(make_server: MakeServer, backend: Any) -> None:
    server = make_server(users={"LAB\\operator": "op-pw"})
    session = winrm.Session(server.endpoint, auth=("lab\\operator", "op-pw"), transport="ntlm")

    assert session.run_cmd("whoami").std_out == b"whoami|"
    assert backend.requests[0].username == "LAB\\operator"


def test_one_user_with_two_passwords_is_refused(make_server: MakeServer) -> None:
    make_server(users={"carol": "first"})

    with pytest.raises(ConfigurationError) as raised:
        make_server(users={"carol": "second"})

    assert str(raised.value) == (
        "NTLM user 'carol' is already served with another password "
        "(NTLM_USER_FILE is process-wide: give each fake host distinct user names)"
    )


def test_basic_only_server_refuses_ntlm(make_server: MakeServer, connect: Connect) -> None:
    server = make_server(auth=("basic",))
    session = connect(server, "ntlm")

    with pytest.raises(InvalidCredentialsError):
        session.run_ps("x")


def test_bare_request_gets_the_offered_schemes(server: WinRMServer) -> None:
    answer = requests.post(server.endpoint, data=b"<x/>", timeout=10)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'
    assert answer.content == b""


@pytest.fixture
def tls_server(make_server: MakeServer) -> WinRMServer:
    return make_server(tls=True)


def _validating(server: WinRMServer) -> dict[str, Any]:
    return {"server_cert_validation": "validate", "ca_trust_path": str(server.ca_cert)}


@pytest.mark.parametrize("transport", ["basic", "ssl"])
def test_https_basic_with_ca_validation(
    tls_server: WinRMServer, connect: Connect, transport: str
) -> None:
    assert tls_server.endpoint.startswith("https://127.0.0.1:")

    response = connect(tls_server, transport, **_validating(tls_server)).run_ps("tls")

    assert (response.std_out, response.status_code) == (b"slt", 3)


def test_https_ntlm_binds_the_channel_and_does_not_seal(
    tls_server: WinRMServer, connect: Connect
) -> None:
    response = connect(tls_server, "ntlm", **_validating(tls_server)).run_ps("cbt")

    assert response.std_out == b"tbc"
    assert tls_server.stats.snapshot().sealed_messages == 0


def test_https_ntlm_without_channel_binding_is_refused(
    tls_server: WinRMServer, connect: Connect
) -> None:
    session = connect(tls_server, "ntlm", send_cbt=False, **_validating(tls_server))

    with pytest.raises(InvalidCredentialsError):
        session.run_ps("x")


def test_https_is_refused_by_a_client_without_the_ca(
    tls_server: WinRMServer, connect: Connect
) -> None:
    session = connect(tls_server, server_cert_validation="validate", ca_trust_path=None)

    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        session.run_ps("x")


def test_tls_files_are_removed_at_stop(make_server: MakeServer) -> None:
    server = make_server(tls=True)
    ca_cert = server.ca_cert
    assert ca_cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")

    server.stop()

    assert not ca_cert.parent.exists()
    with pytest.raises(ConfigurationError, match="does not serve TLS"):
        _ = server.ca_cert
