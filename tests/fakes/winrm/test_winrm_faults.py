"""Fault switches and hostile input, seen through the real pywinrm client."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import winrm
from lxml import etree
from winrm.exceptions import WinRMTransportError, WSManFaultError
from winrm.protocol import Protocol

from fakes.winrm import WinRMServer
from fakes.winrm.soap import WSMAN_FAULT
from provider.errors import ConfigurationError

Connect = Callable[..., winrm.Session]
MakeProtocol = Callable[[WinRMServer], Protocol]

INVALID_XML = 2150858819
INVALID_XML_REASON = (
    "The WS-Management service cannot process the request because the XML is invalid."
)


def test_slow_command_outlives_operation_timeouts_then_returns(
    server: WinRMServer, connect: Connect, backend: Any
) -> None:
    server.faults.operation_timeout = 0.05
    # The command may end only after the client got (and retried) two timeout faults.
    backend.gate = lambda: server.stats.snapshot().faults >= 2

    response = connect(server).run_ps("wait")

    assert (response.std_out, response.status_code) == (b"waited", 0)
    stats = server.stats.snapshot()
    assert stats.faults >= 2
    assert stats.actions["Receive"] == stats.faults + 1


def test_operation_timeout_fault_is_what_pywinrm_retries(
    server: WinRMServer, protocol: MakeProtocol, backend: Any
) -> None:
    server.faults.operation_timeout = 0.05
    released = False
    backend.gate = lambda: released
    client = protocol(server)
    shell_id = client.open_shell()
    command_id = client.run_command(shell_id, "powershell -encodedcommand dwBhAGkAdAA=")

    with pytest.raises(winrm.exceptions.WinRMOperationTimeoutError):
        client.get_command_output_raw(shell_id, command_id)
    released = True

    assert client.get_command_output(shell_id, command_id) == (b"waited", b"", 0)
    client.close_shell(shell_id)


def test_dropped_connection_is_a_connection_error_then_service_resumes(
    server: WinRMServer, connect: Connect
) -> None:
    session = connect(server)
    server.faults.drop_next(1)

    with pytest.raises(requests.exceptions.ConnectionError):
        session.run_ps("first")
    response = session.run_ps("second")

    assert response.std_out == b"dnoces"
    stats = server.stats.snapshot()
    assert (stats.dropped_connections, stats.commands_run) == (1, 1)


def test_latency_delays_every_answer(server: WinRMServer, creds: Any) -> None:
    server.faults.latency = 0.5
    auth = (creds.user, creds.password)

    # A client that gives up sooner sees a read timeout, not an answer.
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(server.endpoint, data=b"", auth=auth, timeout=(5, 0.05))


def _billion_laughs() -> str:
    entities = "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE env:Envelope [<!ENTITY lol0 "lol">{entities}]>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
        "<env:Header/><env:Body>&lol9;</env:Body></env:Envelope>"
    )


def _fault_message(response_text: str) -> str:
    root = etree.fromstring(response_text.encode())
    message = root.find(f".//{{{WSMAN_FAULT}}}Message")
    assert message is not None
    return message.text or ""


def test_entity_expansion_is_refused_without_expanding(
    server: WinRMServer, protocol: MakeProtocol, backend: Any
) -> None:
    with pytest.raises(WSManFaultError) as raised:
        protocol(server).send_message(_billion_laughs())

    fault = raised.value
    assert (fault.code, fault.wsman_fault_code, fault.reason) == (
        500,
        INVALID_XML,
        INVALID_XML_REASON,
    )
    assert _fault_message(fault.response) == "A DTD is not allowed in a WS-Management request."
    assert "lollol" not in fault.response
    assert len(fault.response) < 2000
    assert backend.requests == []


def test_external_entity_is_refused_and_never_read(
    server: WinRMServer, protocol: MakeProtocol, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    body = (
        f'<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
        "<env:Header/><env:Body>&xxe;</env:Body></env:Envelope>"
    )

    with pytest.raises(WSManFaultError) as raised:
        protocol(server).send_message(body)

    assert raised.value.wsman_fault_code == INVALID_XML
    assert "TOP-SECRET-42" not in raised.value.response


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records whether anyone connected to it."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def test_external_dtd_is_never_fetched(
    server: WinRMServer, protocol: MakeProtocol, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    body = (
        f'<!DOCTYPE env:Envelope SYSTEM "http://127.0.0.1:{port}/evil.dtd">'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope">'
        "<env:Header/><env:Body/></env:Envelope>"
    )

    with pytest.raises(WSManFaultError) as raised:
        protocol(server).send_message(body)

    assert raised.value.wsman_fault_code == INVALID_XML
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_malformed_xml_is_refused(server: WinRMServer, protocol: MakeProtocol) -> None:
    with pytest.raises(WSManFaultError) as raised:
        protocol(server).send_message("<env:Envelope")

    assert (raised.value.wsman_fault_code, raised.value.reason) == (INVALID_XML, INVALID_XML_REASON)
    assert _fault_message(raised.value.response).startswith("The request is not well-formed XML: ")


def test_envelope_over_the_size_limit_is_a_quota_fault(
    server: WinRMServer, connect: Connect, backend: Any
) -> None:
    server.faults.max_envelope_bytes = 4000

    with pytest.raises(WSManFaultError) as raised:
        connect(server).run_ps("x" * 3000)

    fault = raised.value
    assert (fault.code, fault.wsman_fault_code, fault.fault_subcode) == (
        500,
        2150858815,
        "w:EncodingLimit",
    )
    assert _fault_message(fault.response).startswith("The request envelope of ")
    assert _fault_message(fault.response).endswith(" exceeds MaxEnvelopeSize of 4000 bytes.")
    assert backend.requests == []


def test_body_over_the_http_limit_is_413(server: WinRMServer, protocol: MakeProtocol) -> None:
    server.faults.max_body_bytes = 1000

    with pytest.raises(WinRMTransportError) as raised:
        protocol(server).send_message("<x>" + "a" * 5000 + "</x>")

    assert raised.value.code == 413
    assert server.stats.snapshot().actions == {}


def test_fault_switches_refuse_nonsense(server: WinRMServer) -> None:
    with pytest.raises(ConfigurationError, match=r"^fault switch latency must be >= 0, got -1$"):
        server.faults.latency = -1
    with pytest.raises(ConfigurationError, match=r"^fault switch timeout must be > 0, got 0$"):
        server.faults.operation_timeout = 0


def test_fault_switches_reset_to_a_healthy_host(server: WinRMServer, connect: Connect) -> None:
    server.faults.drop_next(3)
    server.faults.max_envelope_bytes = 10

    server.faults.reset()

    assert connect(server).run_ps("ok").std_out == b"ko"
