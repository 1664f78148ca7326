"""run_ps and run_cmd through the real pywinrm client, Basic auth over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
import winrm
import xmltodict  # type: ignore[import-untyped]
from lxml import etree
from pytest_mock import MockerFixture
from winrm.exceptions import WSManFaultError
from winrm.protocol import Protocol

from fakes.winrm import CommandRequest, WinRMServer, soap

Connect = Callable[..., winrm.Session]
MakeProtocol = Callable[[WinRMServer], Protocol]

SHELL_NOT_FOUND = 2150858843


def test_run_ps_returns_the_backend_output(
    server: WinRMServer, connect: Connect, backend: Any, creds: Any
) -> None:
    response = connect(server).run_ps("Get-VM -Name 'vm1'")

    assert response.std_out == b"'1mv' emaN- MV-teG"
    assert response.std_err == b"len=18"
    assert response.status_code == 18 % 7
    encoded = base64.b64encode("Get-VM -Name 'vm1'".encode("utf-16-le")).decode()
    assert backend.requests == [
        CommandRequest(
            host="hv01",
            username=creds.user,
            command=f"powershell -encodedcommand {encoded}",
            arguments=(),
            script="Get-VM -Name 'vm1'",
        )
    ]


def test_run_ps_decodes_non_ascii_scripts(
    server: WinRMServer, connect: Connect, backend: Any
) -> None:
    script = "Write-Output 'Zürich ☃ 東京'"

    response = connect(server).run_ps(script)

    assert backend.requests[0].script == script
    assert response.std_out == script[::-1].encode("utf-8")


def test_run_cmd_passes_command_and_arguments(
    server: WinRMServer, connect: Connect, backend: Any
) -> None:
    response = connect(server).run_cmd("ipconfig", ["/all", "/v"])

    assert (response.std_out, response.std_err, response.status_code) == (
        b"ipconfig|/all /v",
        b"",
        0,
    )
    assert backend.requests[0].arguments == ("/all /v",)
    assert backend.requests[0].script is None


def test_run_cmd_of_encoded_powershell_gets_the_script(
    server: WinRMServer, connect: Connect, backend: Any
) -> None:
    encoded = base64.b64encode("hello".encode("utf-16-le")).decode()

    response = connect(server).run_cmd("powershell.exe", ["-EncodedCommand", encoded])

    assert backend.requests[0].script == "hello"
    assert response.std_out == b"olleh"


def test_one_run_is_five_round_trips_and_closes_its_shell(
    server: WinRMServer, connect: Connect
) -> None:
    connect(server).run_ps("x")

    stats = server.stats.snapshot()
    assert stats.actions == {"Create": 1, "Command": 1, "Receive": 1, "Signal": 1, "Delete": 1}
    assert (stats.http_requests, stats.soap_requests, stats.commands_run) == (5, 5, 1)
    assert stats.faults == 0
    assert server.open_shells == 0


def test_large_output_is_split_over_chunks_and_receives(
    server: WinRMServer, connect: Connect, backend: Any, mocker: MockerFixture
) -> None:
    spy = mocker.spy(soap, "receive_response")

    response = connect(server).run_ps("big:400000")

    assert response.std_out == backend.payload(400_000)
    assert response.std_err == b"big"
    answers: list[bytes] = spy.spy_return_list
    # pywinrm's MaxEnvelopeSize is 153600: 26 chunks of 4096 bytes fit in one answer.
    assert all(len(answer) <= 153_600 for answer in answers)
    assert [_chunk_sizes(answer, "stdout") for answer in answers] == [
        [4096] * 26,
        [4096] * 26,
        [4096] * 26,
        [4096] * 19 + [2688, 0],
    ]
    assert _chunk_sizes(answers[-1], "stderr") == [3, 0]


def _chunk_sizes(answer: bytes, name: str) -> list[int]:
    streams = etree.fromstring(answer).iter(f"{{{soap.SHELL}}}Stream")
    return [len(base64.b64decode(s.text or "")) for s in streams if s.get("Name") == name]


def test_a_failing_backend_is_a_failing_process(server: WinRMServer, connect: Connect) -> None:
    response = connect(server).run_ps("boom")

    assert (response.std_out, response.std_err, response.status_code) == (
        b"",
        b"RuntimeError: boom",
        1,
    )
    assert server.stats.snapshot().backend_errors == 1


def test_unknown_shell_is_a_shell_not_found_fault(
    server: WinRMServer, protocol: MakeProtocol
) -> None:
    with pytest.raises(WSManFaultError) as raised:
        protocol(server).run_command("00000000-0000-0000-0000-000000000000", "hostname")

    assert (raised.value.code, raised.value.wsman_fault_code) == (500, SHELL_NOT_FOUND)
    assert raised.value.reason == (
        "The request for the Windows Remote Shell with ShellId "
        "00000000-0000-0000-0000-000000000000 failed because the shell was not found on the "
        "server. Possible causes are: the specified ShellId is incorrect or the shell no longer "
        "exists on the server. Provide the correct ShellId or create a new shell and retry the "
        "operation."
    )


def test_unknown_command_is_a_command_not_found_fault(
    server: WinRMServer, protocol: MakeProtocol
) -> None:
    client = protocol(server)
    shell_id = client.open_shell()

    with pytest.raises(WSManFaultError) as raised:
        client.get_command_output_raw(shell_id, "11111111-1111-1111-1111-111111111111")

    assert (raised.value.code, raised.value.wsman_fault_code) == (500, SHELL_NOT_FOUND)
    assert raised.value.reason == (
        "The Windows Remote Shell received a request to perform an operation on a command "
        "identifier that does not exist. Either the command has completed execution or the "
        "client specified an invalid command identifier."
    )
    client.close_shell(shell_id)


def test_a_shell_belongs_to_the_user_who_opened_it(
    make_server: Callable[..., WinRMServer], protocol: MakeProtocol, creds: Any
) -> None:
    server = make_server(users={creds.user: creds.password, "other": "pw2"})
    shell_id = protocol(server).open_shell()
    intruder = Protocol(server.endpoint, transport="basic", username="other", password="pw2")

    with pytest.raises(WSManFaultError) as raised:
        intruder.run_command(shell_id, "hostname")

    assert raised.value.wsman_fault_code == SHELL_NOT_FOUND


def test_signal_and_delete_answers_relate_to_the_request(
    server: WinRMServer, protocol: MakeProtocol
) -> None:
    client = protocol(server)
    shell_id = client.open_shell()
    command_id = client.run_command(shell_id, "hostname")
    assert client.get_command_output(shell_id, command_id) == (b"hostname|", b"", 0)

    # pywinrm asserts that RelatesTo equals its MessageID in both of these calls.
    client.cleanup_command(shell_id, command_id)
    client.close_shell(shell_id)

    assert server.open_shells == 0


def test_a_terminated_command_is_gone(server: WinRMServer, protocol: MakeProtocol) -> None:
    client = protocol(server)
    shell_id = client.open_shell()
    command_id = client.run_command(shell_id, "hostname")
    client.cleanup_command(shell_id, command_id)

    with pytest.raises(WSManFaultError) as raised:
        client.get_command_output_raw(shell_id, command_id)

    assert raised.value.wsman_fault_code == SHELL_NOT_FOUND


def test_unsupported_action_is_refused(server: WinRMServer, protocol: MakeProtocol) -> None:
    client = protocol(server)
    header = client.build_wsman_header(
        action="http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
        resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
    )

    with pytest.raises(WSManFaultError) as raised:
        client.send_message(xmltodict.unparse({"env:Envelope": {**header, "env:Body": {}}}))

    assert (raised.value.code, raised.value.wsman_fault_code, raised.value.fault_subcode) == (
        500,
        2150858771,
        "a:ActionNotSupported",
    )
    assert raised.value.reason == (
        "The WS-Management service does not support the action specified in the request."
    )


def test_unknown_signal_code_is_refused(server: WinRMServer, protocol: MakeProtocol) -> None:
    client = protocol(server)
    shell_id = client.open_shell()
    command_id = client.run_command(shell_id, "hostname")
    header = client.build_wsman_header(
        action="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal",
        resource_uri="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
        shell_id=shell_id,
    )
    signal = {"@CommandId": command_id, "rsp:Code": "urn:not-a-signal"}
    envelope = {"env:Envelope": {**header, "env:Body": {"rsp:Signal": signal}}}

    with pytest.raises(WSManFaultError) as raised:
        client.send_message(xmltodict.unparse(envelope))

    assert (raised.value.wsman_fault_code, raised.value.fault_subcode) == (
        2150858791,
        "w:InvalidBody",
    )
    assert raised.value.reason == (
        "The WS-Management service cannot process the request because the request packet "
        "does not have a valid SOAP body."
    )
