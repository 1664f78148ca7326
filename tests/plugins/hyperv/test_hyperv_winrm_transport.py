"""The WinRM transport with real pywinrm against the loopback server (canned backend)."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from fakes.winrm import CommandRequest, CommandResult, WinRMServer
from plugins.hyperv import scripts
from plugins.hyperv.client import client_for
from plugins.hyperv.transport import (
    WinRMSettings,
    WinRMTransport,
    encoded_command,
    endpoint_url,
    open_transport,
)
from provider.contracts.connection import FabricConnection, Secret
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    MachineNotFound,
    ValidationError,
)

USER, PASSWORD = "admin", "Passw0rd!"


class Canned:
    """Answers every script with the next canned result and records the requests."""

    def __init__(self) -> None:
        self.results: list[CommandResult] = []
        self.requests: list[CommandRequest] = []
        self._lock = threading.Lock()

    def run(self, request: CommandRequest) -> CommandResult:
        with self._lock:
            self.requests.append(request)
            return self.results.pop(0)


def payload(value: object) -> CommandResult:
    return CommandResult(base64.b64encode(json.dumps(value).encode()), b"", 0)


@pytest.fixture
def backend() -> Canned:
    return Canned()


@pytest.fixture
def server(backend: Canned) -> Iterator[WinRMServer]:
    with WinRMServer(backend, users={USER: PASSWORD}, host_name="hv01") as running:
        yield running


def connection(address: str, password: str = PASSWORD, **options: str) -> FabricConnection:
    options.setdefault("retry_wait", "0")
    return FabricConnection(
        "fab-1", "hyperv", address, USER, Secret(password), tuple(options.items())
    )


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_script_runs_over_winrm_and_arrives_decoded(
    server: WinRMServer, backend: Canned, auth: str
) -> None:
    backend.results.append(payload([{"Name": "hv01 \u2019"}]))
    client = client_for(connection("127.0.0.1", transport=auth, port=str(server.port)))
    try:
        assert client.query(scripts.get_vm_host()) == [{"Name": "hv01 \u2019"}]
    finally:
        client.close()
    assert [request.script for request in backend.requests] == [scripts.get_vm_host().text]


def test_clixml_stderr_reaches_the_parser_raw(server: WinRMServer, backend: Canned) -> None:
    stderr = (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/'
        '2004/04"><S S="Error">Get-VM : Hyper-V was unable to find a virtual machine with name '
        '"web"._x000D__x000A_</S></Objs>'
    )
    backend.results.append(CommandResult(b"", stderr.encode(), 1))
    client = client_for(connection(server.endpoint, transport="basic"))
    with pytest.raises(MachineNotFound) as caught:
        client.query(scripts.get_vm("web"))
    assert str(caught.value) == (
        'hv01: Get-VM: Get-VM : Hyper-V was unable to find a virtual machine with name "web".'
    ).replace("hv01", server.endpoint, 1)


def test_wrong_password_is_authentication_failed_and_not_retried(server: WinRMServer) -> None:
    client = client_for(connection(server.endpoint, "nope", transport="basic"))
    with pytest.raises(AuthenticationFailed) as caught:
        client.query(scripts.get_vm_host())
    assert str(caught.value).startswith(
        f"{server.endpoint}: Get-VMHost: {server.endpoint} refused the credentials: "
    )
    assert server.stats.snapshot().unauthorized == 1


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_closed_port_is_unreachable_after_the_retries() -> None:
    port = closed_port()
    client = client_for(connection("127.0.0.1", port=str(port), retry_attempts="2"))
    with pytest.raises(FabricUnreachable) as caught:
        client.query(scripts.get_vm_host())
    assert str(caught.value).startswith(
        f"127.0.0.1: Get-VMHost: cannot reach http://127.0.0.1:{port}/wsman: ConnectionError: "
    )


def test_dropped_connection_is_retried_and_the_next_attempt_works(
    server: WinRMServer, backend: Canned
) -> None:
    backend.results.append(payload([7]))
    server.faults.drop_next(1)
    client = client_for(connection(server.endpoint, transport="basic"))
    assert client.query(scripts.get_vm_host()) == [7]
    assert server.stats.snapshot().dropped_connections == 1


def test_https_with_ca_validation(backend: Canned) -> None:
    with WinRMServer(backend, users={USER: PASSWORD}, tls=True) as server:
        backend.results.append(payload(["tls"]))
        options = {
            "transport": "https",
            "port": str(server.port),
            "ca_trust_path": str(server.ca_cert),
        }
        client = client_for(connection("127.0.0.1", **options))
        assert client.query(scripts.get_vm_host()) == ["tls"]


def test_settings_from_options() -> None:
    conn = connection("hv01.example", transport="ntlm", read_timeout="40", operation_timeout="30")
    transport = open_transport(conn)
    assert isinstance(transport, WinRMTransport)
    assert transport.settings == WinRMSettings(
        "http://hv01.example:5985/wsman",
        USER,
        Secret(PASSWORD),
        "ntlm",
        "validate",
        "",
        40,
        30,
        "auto",
        "",
    )
    assert endpoint_url(connection("hv01", scheme="https"), True) == "https://hv01:5986/wsman"
    assert endpoint_url(connection("fe80::1", port="99"), False) == "http://[fe80::1]:99/wsman"
    assert open_transport(connection("hv01", transport="winrm", auth="basic")).settings.auth == (  # type: ignore[attr-defined]
        "basic"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": "http"}, "port must be a positive integer, got 'http'"),
        ({"cert_validation": "maybe"}, "cert_validation must be one of validate, ignore"),
        ({"transport": "winrm", "auth": "digest"}, "auth must be one of basic, ntlm"),
    ],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=f"^hyperv fabric 'fab-1': {message}"):
        open_transport(connection("hv01", **options))


def test_encoded_command_matches_run_ps() -> None:
    script = "Get-VM -Name 'x\u2019'"
    expected = base64.b64encode(script.encode("utf-16-le")).decode()
    assert encoded_command(script) == f"powershell -encodedcommand {expected}"
