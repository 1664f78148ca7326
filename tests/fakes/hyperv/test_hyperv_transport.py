"""Reaching fake hosts: in process (the plugin's registry) and over loopback WinRM with pywinrm."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import winrm

from fakes.hyperv import HyperVHost, HyperVLab, InProcessTransport, install_inprocess_transport
from fakes.hyperv.backend import HyperVBackend, ServedLab, start_winrm_lab
from fakes.winrm import CommandRequest, CommandResult
from plugins.hyperv.transport import ScriptResult, open_transport, unregister_transport
from provider.contracts.connection import FabricConnection
from provider.errors import FabricUnreachable

SCRIPT = (
    "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
    "$result = Get-VM | Select-Object Name, @{n='State';e={[string]$_.State}}\n"
    "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
    "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
)


@pytest.fixture
def inprocess(lab: HyperVLab) -> Iterator[str]:
    install_inprocess_transport(lab, name="fake-inprocess-test")
    yield "fake-inprocess-test"
    unregister_transport("fake-inprocess-test")


def connection(address: str, transport: str) -> FabricConnection:
    return FabricConnection("hv-fabric", "hyperv", address, options=(("transport", transport),))


def test_inprocess_transport_through_the_plugin_registry(hv01: HyperVHost, inprocess: str) -> None:
    hv01.create_vm("caf\u00e9", running=True)
    transport = open_transport(connection("HV01.srp.test", inprocess))
    assert isinstance(transport, InProcessTransport)
    result = transport.run(SCRIPT)
    assert isinstance(result, ScriptResult)
    assert result.exit_code == 0
    assert json.loads(base64.b64decode(result.stdout)) == [
        {"Name": "caf\u00e9", "State": "Running"}
    ]
    assert result == ScriptResult(*hv01.run_script(SCRIPT).__dict__.values())


def test_inprocess_unknown_address(inprocess: str) -> None:
    with pytest.raises(FabricUnreachable, match="no fake Hyper-V host answers at 'hv77'"):
        open_transport(connection("hv77", inprocess))


@pytest.fixture
def served(lab: HyperVLab) -> Iterator[ServedLab]:
    with start_winrm_lab(lab, auth=("basic",)) as running:
        yield running


def session(served: ServedLab, host: str) -> winrm.Session:
    return winrm.Session(served.endpoint(host), auth=served.credentials, transport="basic")


def test_run_ps_over_loopback_winrm(served: ServedLab, hv01: HyperVHost, hv02: HyperVHost) -> None:
    hv01.create_vm("on-one")
    hv02.create_vm("on-two", running=True)
    one = session(served, "hv01").run_ps(SCRIPT)
    two = session(served, "hv02").run_ps(SCRIPT)
    assert one.status_code == 0
    assert json.loads(base64.b64decode(one.std_out)) == [{"Name": "on-one", "State": "Off"}]
    assert json.loads(base64.b64decode(two.std_out)) == [{"Name": "on-two", "State": "Running"}]
    assert hv01.commands_run() == ["Get-VM", "Select-Object", "ConvertTo-Json"]


def test_errors_over_loopback_winrm(served: ServedLab) -> None:
    result = session(served, "hv01").run_ps("$ErrorActionPreference = 'Stop'\nGet-VM -Name 'x'")
    assert result.status_code == 1
    assert result.std_out == b""
    # pywinrm turns the CLIXML into text; the first line is the real record's.
    assert result.std_err.decode().splitlines()[0] == (
        'Get-VM : Hyper-V was unable to find a virtual machine with name "x".'
    )


def test_plain_commands_are_not_powershell(served: ServedLab) -> None:
    result = session(served, "hv01").run_cmd("ipconfig", ["/all"])
    assert result.status_code == 1
    assert result.std_err == (
        b"'ipconfig' is not recognized as an internal or external command,\r\n"
        b"operable program or batch file.\r\n"
    )


def test_backend_routes_by_host_name(lab: HyperVLab) -> None:
    backend = HyperVBackend(lab)
    request = CommandRequest("hv99", "admin", "powershell", (), "Get-VM")
    assert backend.run(request) == CommandResult(
        b"", b"The fake WinRM host 'hv99' is not a host of the Hyper-V lab.\r\n", 1
    )


# -- hostile output --------------------------------------------------------------------


def test_hostile_output_modes(hv01: HyperVHost) -> None:
    hv01.faults.hostile_output = "entity-expansion"
    entity = hv01.run_script(SCRIPT)
    assert entity.exit_code == 1 and entity.stdout == b""
    assert entity.stderr.startswith(b'#< CLIXML\r\n<?xml version="1.0"?><!DOCTYPE Objs [')
    assert b"&lol3;" in entity.stderr
    hv01.faults.hostile_output = "external-entity"
    external = hv01.run_script(SCRIPT)
    assert b'<!ENTITY secret SYSTEM "file:///etc/passwd">' in external.stderr
    hv01.faults.hostile_output = "garbage-base64"
    assert hv01.run_script(SCRIPT).stdout == b"%%% this is not base64 @@@\r\n"
    hv01.faults.hostile_output = "bad-json"
    assert base64.b64decode(hv01.run_script(SCRIPT).stdout) == b'{"Name": [unterminated'
    hv01.faults.hostile_output = None
    assert hv01.run_script(SCRIPT).exit_code == 0
    with pytest.raises(ValueError, match="hostile_output must be one of"):
        hv01.faults.hostile_output = "nonsense"
