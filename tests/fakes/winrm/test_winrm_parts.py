"""The pieces of the fake WinRM host on their own: decoding, framing, envelopes, users, labs."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import spnego
import winrm
from requests_ntlm.requests_ntlm import ShimSessionSecurity
from winrm.encryption import Encryption
from winrm.exceptions import WinRMOperationTimeoutError

from fakes.winrm import WinRMLab, WinRMServer, encryption
from fakes.winrm.auth import NTLM_USERS, NtlmUserFile
from fakes.winrm.backend import decode_encoded_command
from fakes.winrm.protocol_faults import WsmanFault
from fakes.winrm.soap import parse_duration, parse_envelope
from provider.errors import ConfigurationError, NotFound

MakeServer = Callable[..., WinRMServer]


def _b64(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


@pytest.mark.parametrize(
    ("command", "arguments", "expected"),
    [
        (f"powershell -encodedcommand {_b64('Get-VM')}", (), "Get-VM"),
        ("PowerShell.exe", ("-NoProfile -EncodedCommand", _b64("a;b")), "a;b"),
        ("pwsh", (f"-ec {_b64('x')}",), "x"),
        ("powershell", (f"-e {_b64('short')}",), "short"),
        ("powershell", (f"/enc {_b64('slash')}",), "slash"),
        ("powershell", ("-Command Get-VM",), None),
        ("powershell", ("-encodedcommand", "not base64!"), None),
        ("powershell", ("-encodedcommand",), None),
        (f"cmd /c {_b64('x')}", (), None),
    ],
)
def test_decode_encoded_command(
    command: str, arguments: tuple[str, ...], expected: str | None
) -> None:
    assert decode_encoded_command(command, arguments) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT20S", 20.0), ("PT0.5S", 0.5), ("PT1M30S", 90.0), ("PT2H", 7200.0), ("PT", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_dtd_in_utf16_is_refused_after_parsing() -> None:
    document = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16")

    with pytest.raises(WsmanFault) as raised:
        parse_envelope(document)

    assert raised.value.detail.message == "A DTD is not allowed in a WS-Management request."


def test_envelope_without_header_is_refused() -> None:
    with pytest.raises(WsmanFault) as raised:
        parse_envelope(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>')

    assert raised.value.detail.message == "The envelope has no s:Header."


@pytest.fixture
def ntlm_pair() -> Iterator[tuple[Any, Any]]:
    """A completed NTLM client and server context, in process."""
    NTLM_USERS.register({"sealer": "pw"})
    client = spnego.client("sealer", "pw", protocol="ntlm")
    server = spnego.server(protocol="ntlm")
    challenge = server.step(client.step())
    server.step(client.step(challenge))
    yield client, server
    NTLM_USERS.release({"sealer": "pw"})


def _pywinrm_encryption(client: Any) -> Encryption:
    session = SimpleNamespace(auth=SimpleNamespace(session_security=ShimSessionSecurity(client)))
    return Encryption(session, "ntlm")  # type: ignore[arg-type]


def test_sealed_request_of_pywinrm_unseals(ntlm_pair: tuple[Any, Any]) -> None:
    client, server = ntlm_pair
    message = b"<s:Envelope>hello</s:Envelope>"
    framed = _pywinrm_encryption(client)._encrypt_message(message, "127.0.0.1")
    body = framed + b"--Encrypted Boundary--\r\n"

    assert encryption.unseal(body, server) == message


def test_sealed_answer_decrypts_in_pywinrm(ntlm_pair: tuple[Any, Any]) -> None:
    client, server = ntlm_pair
    answer = SimpleNamespace(
        content=encryption.seal(b"<answer/>", server),
        headers={"Content-Type": encryption.CONTENT_TYPE},
        request=SimpleNamespace(url="http://127.0.0.1/wsman"),
    )

    assert _pywinrm_encryption(client).parse_encrypted_response(answer) == b"<answer/>"  # type: ignore[arg-type]


def test_tampered_sealed_request_is_refused(ntlm_pair: tuple[Any, Any]) -> None:
    client, server = ntlm_pair
    body = bytearray(_pywinrm_encryption(client)._encrypt_message(b"<x/>", "h"))
    body[-1] ^= 0xFF
    body += b"--Encrypted Boundary--\r\n"

    with pytest.raises(encryption.SealingError, match=r"^the sealed body does not verify: "):
        encryption.unseal(bytes(body), server)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"garbage", "the body does not start with the SPNEGO-encrypted part header"),
        (
            b"--Encrypted Boundary\r\n"
            b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n",
            "the OriginalContent line with the Length is missing",
        ),
    ],
)
def test_malformed_sealed_body_is_refused(
    ntlm_pair: tuple[Any, Any], body: bytes, message: str
) -> None:
    with pytest.raises(encryption.SealingError) as raised:
        encryption.unseal(body, ntlm_pair[1])

    assert str(raised.value) == message


def test_user_file_is_published_then_removed_with_the_last_user() -> None:
    users = NtlmUserFile()
    before = os.environ.get("NTLM_USER_FILE")
    users.register({"LAB\\dave": "d-pw", "erin": "e-pw"})
    users.register({"erin": "e-pw"})
    path = Path(os.environ["NTLM_USER_FILE"])

    assert path.read_text(encoding="utf-8") == "LAB:DAVE:d-pw\n:ERIN:e-pw\n"
    users.release({"LAB\\dave": "d-pw", "erin": "e-pw"})
    assert path.read_text(encoding="utf-8") == ":ERIN:e-pw\n"
    users.release({"erin": "e-pw"})
    assert not path.exists()
    assert os.environ.get("NTLM_USER_FILE") == before


def test_user_file_refuses_separators() -> None:
    with pytest.raises(ConfigurationError, match=r"^NTLM user 'frank': names and passwords"):
        NtlmUserFile().register({"frank": "a:b"})


def test_server_is_not_started_twice(server: WinRMServer) -> None:
    with pytest.raises(ConfigurationError, match=r"^WinRM server hv01 is already started$"):
        server.start()


def test_server_address_needs_a_running_server(backend: Any) -> None:
    idle = WinRMServer(backend, users={"u": "p"})

    with pytest.raises(ConfigurationError, match=r"^WinRM server hv01 is not started$"):
        _ = idle.endpoint


def test_unknown_auth_scheme_is_refused(backend: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"unsupported WinRM auth schemes \['kerberos'\]"):
        WinRMServer(backend, users={"u": "p"}, auth=("kerberos",))


def test_context_manager_serves_and_stops(backend: Any, creds: Any) -> None:
    with WinRMServer(backend, users={creds.user: creds.password}) as server:
        session = winrm.Session(server.endpoint, auth=(creds.user, creds.password))
        assert session.run_ps("cm").std_out == b"mc"
        endpoint = server.endpoint

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(endpoint, data=b"", timeout=5)


def test_wrong_path_and_method(server: WinRMServer) -> None:
    assert requests.post(f"{server.url}/other", data=b"", timeout=5).status_code == 404
    assert requests.get(server.endpoint, timeout=5).status_code == 501


def test_stop_wakes_a_waiting_receive(server: WinRMServer, protocol: Any, backend: Any) -> None:
    # The command ends only once stop() has woken the waiting Receive (answered as a fault).
    backend.gate = lambda: server.stats.snapshot().faults >= 1
    client = protocol(server)
    shell_id = client.open_shell()
    command_id = client.run_command(shell_id, f"powershell -encodedcommand {_b64('wait')}")
    outcome: list[BaseException] = []

    def receive() -> None:
        try:
            client.get_command_output_raw(shell_id, command_id)
        except (WinRMOperationTimeoutError, requests.exceptions.ConnectionError) as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=receive)
    waiter.start()
    _until(lambda: server.stats.snapshot().actions.get("Receive") == 1)
    server.stop()
    waiter.join(10)

    assert not waiter.is_alive()
    assert len(outcome) == 1


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.01)


def test_lab_serves_each_host_on_its_own_port(backend: Any, creds: Any) -> None:
    users = {creds.user: creds.password}
    with WinRMLab(backend, ["hv01", "hv02"], users=users, auth=("ntlm",)) as lab:
        endpoints = lab.endpoints()
        for host in ("hv02", "hv01"):
            auth = (creds.user, creds.password)
            winrm.Session(lab[host].endpoint, auth=auth, transport="ntlm").run_cmd("hostname")
        stats = lab.stats()

    assert endpoints["hv01"] != endpoints["hv02"]
    assert [request.host for request in backend.requests] == ["hv02", "hv01"]
    assert {host: snapshot.commands_run for host, snapshot in stats.items()} == {
        "hv01": 1,
        "hv02": 1,
    }


def test_lab_names_must_be_distinct_and_known(backend: Any) -> None:
    with pytest.raises(ConfigurationError, match="distinct host names"):
        WinRMLab(backend, ["hv01", "hv01"], users={"u": "p"})
    with pytest.raises(NotFound, match="no fake WinRM host named 'hv09' in this lab"):
        WinRMLab(backend, ["hv01"], users={"u": "p"})["hv09"]
