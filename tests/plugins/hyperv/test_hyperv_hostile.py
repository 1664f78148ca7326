"""Injection attempts and bad input: names that try to run code, broken hosts, hostile output.

Every test runs in process and over loopback WinRM (Basic and NTLM) unless it
is about WinRM itself (credentials, closed port, dropped connection).
"""

from __future__ import annotations

import socket
import uuid

import pytest

from fakes.hyperv import HyperVLab, VirtualMachine
from fakes.hyperv.backend import ServedLab
from plugins.hyperv import plugin
from provider.contracts.connection import FabricConnection
from provider.contracts.replica import CutRequest
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    WrongFabricKind,
)
from tests.plugins.hyperv.hvplugin_testkit import Connect

KIB = 1024
HOSTILE_NAMES = (
    "x'; Remove-VM *",
    "it\u2019s $(Stop-Computer -Force)",
    'semi;colon & "double" | Out-Null',
    "back`tick`n`$env:PATH",
    "new\nline; Remove-VM -Name *",
    "\u00dcberpr\u00fcfung \u6771\u4eac \u2018q\u201b\u201a",
)
ALLOWED = {
    "Get-VMHost",
    "Get-VM",
    "Get-VMHardDiskDrive",
    "Get-VHD",
    "Get-VMNetworkAdapter",
    "Get-VMSwitch",
    "Select-Object",
    "ConvertTo-Json",
    "Enable-SrpChangeTracking",
    "New-SrpCut",
    "Read-SrpCutExtent",
    "Confirm-SrpCut",
}


def fill(vm: VirtualMachine, seed: int) -> None:
    vm.disks[0].write(8 * KIB, bytes((seed + i) % 256 for i in range(12 * KIB)))


def test_hostile_names_are_only_names(lab: HyperVLab, hyperv_connection: FabricConnection) -> None:
    host = lab.host("hv01")
    bystander = host.create_vm("bystander", running=True)
    vms = [host.create_vm(name, disks=[256 * KIB], running=True) for name in HOSTILE_NAMES]
    for seed, vm in enumerate(vms):
        fill(vm, seed)
    inventory = plugin.srp_discover(hyperv_connection)
    assert sorted(m.name for m in inventory.machines) == sorted([*HOSTILE_NAMES, "bystander"])
    machines = tuple(m for m in inventory.machines if m.name in HOSTILE_NAMES)
    for machine in machines:
        plugin.srp_enable_tracking(hyperv_connection, machine)
    cut = plugin.srp_capture_cut(hyperv_connection, CutRequest("cut-1", machines, ()))
    for vm in vms:
        (changes,) = [d for d in cut.disks if d.machine_id == vm.vm_id]
        data = b"".join(
            e.data
            for e in plugin.srp_read_extents(
                hyperv_connection, cut, vm.vm_id, changes.disk_id, changes.extents
            )
        )
        assert data == b"".join(vm.disks[0].read(o, n) for o, n in changes.extents)
        assert changes.extents == ((8 * KIB, 12 * KIB),)
    plugin.srp_release_cut(hyperv_connection, cut, True)

    assert set(host.commands_run()) <= ALLOWED
    assert [vm.name for vm in host.vms] == ["bystander", *HOSTILE_NAMES]
    assert bystander.state.name == "Running" and all(vm.state.name == "Running" for vm in vms)
    tracked = [e.parameter("VMName") for e in host.command_log if e.command.endswith("Tracking")]
    assert tracked == [[name] for name in HOSTILE_NAMES]
    (cut_entry,) = [e for e in host.command_log if e.command == "New-SrpCut"]
    assert cut_entry.parameter("VMName") == list(HOSTILE_NAMES)


@pytest.mark.parametrize("transport_name", ["winrm-basic", "winrm-ntlm"])
def test_wrong_password_fails_once_then_the_right_one_works(
    connect: Connect, served: ServedLab
) -> None:
    bad = connect("hv01", password="wrong")
    with pytest.raises(AuthenticationFailed) as caught:
        plugin.srp_connect(bad)
    endpoint = served.endpoint("hv01")
    assert str(caught.value).startswith(
        f"{endpoint}: Get-VMHost: {endpoint} refused the credentials: "
    )
    assert served.winrm["hv01"].stats.snapshot().commands_run == 0
    assert plugin.srp_connect(connect("hv01")).name == "hv01"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport_name", ["winrm-basic"])
def test_closed_port_is_unreachable(connect: Connect, served: ServedLab) -> None:
    port = closed_port()
    connection = connect("hv01", retry_attempts="2")
    unreachable = FabricConnection(
        connection.fabric_id + "-closed",
        "hyperv",
        "127.0.0.1",
        connection.username,
        connection.secret,
        (*connection.options, ("port", str(port))),
    )
    with pytest.raises(FabricUnreachable) as caught:
        plugin.srp_connect(unreachable)
    plugin.srp_disconnect(unreachable)
    assert str(caught.value).startswith(
        f"127.0.0.1: Get-VMHost: cannot reach http://127.0.0.1:{port}/wsman: ConnectionError: "
    )


@pytest.mark.parametrize("transport_name", ["winrm-basic", "winrm-ntlm"])
def test_dropped_connections_are_retried(connect: Connect, served: ServedLab) -> None:
    connection = connect("hv01")
    served.winrm["hv01"].faults.drop_next(2)
    assert plugin.srp_connect(connection).name == "hv01"
    assert served.winrm["hv01"].stats.snapshot().dropped_connections == 2


def test_unknown_host_in_process_is_unreachable(transport_name: str, connect: Connect) -> None:
    if transport_name != "fake-inprocess":
        return
    with pytest.raises(FabricUnreachable, match=r"^no fake Hyper-V host answers at 'hv99'"):
        plugin.srp_connect(connect("hv99"))


def test_not_a_hyperv_host_then_fixed(lab: HyperVLab, hyperv_connection: FabricConnection) -> None:
    host = lab.host("hv01")
    host.faults.not_hyperv = True
    with pytest.raises(WrongFabricKind) as caught:
        plugin.srp_connect(hyperv_connection)
    assert str(caught.value) == (
        f"{hyperv_connection.address} is not a Hyper-V host: Get-VMHost : The term "
        "'Get-VMHost' is not recognized as the name of a cmdlet, function, script file, or "
        "operable program. Check the spelling of the name, or if a path was included, verify "
        "that the path is correct and try again."
    )
    host.faults.not_hyperv = False
    assert plugin.srp_connect(hyperv_connection).name == "hv01"


def test_vm_vanished_between_discovery_and_protection(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    host.create_vm("app")
    machine = plugin.srp_discover(hyperv_connection).machines[0]
    host.remove_vm("app")
    address = hyperv_connection.address
    gone = f"VM 'app' ({machine.machine_id}) is no longer on the host"
    with pytest.raises(MachineNotFound) as caught:
        plugin.srp_enable_tracking(hyperv_connection, machine)
    assert str(caught.value) == f"{address}: Enable-SrpChangeTracking: {gone}"
    with pytest.raises(MachineNotFound) as caught:
        plugin.srp_prepare_failover(hyperv_connection, machine)
    assert str(caught.value) == f"{address}: Stop-VM: {gone}"
    with pytest.raises(MachineNotFound) as caught:
        plugin.srp_capture_cut(hyperv_connection, CutRequest("c1", (machine,), ()))
    assert str(caught.value) == (
        f"{address}: New-SrpCut: New-SrpCut : Hyper-V was unable to find a virtual machine "
        'with name "app".'
    )

    # The VM comes back (say, re-registered from its files) with the same id.
    host.create_vm("app", vm_id=uuid.UUID(machine.machine_id), folder="D:\\Restored")
    assert plugin.srp_enable_tracking(hyperv_connection, machine).machine_id == machine.machine_id


def test_name_taken_by_another_vm_is_not_that_machine(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    host.create_vm("app")
    machine = plugin.srp_discover(hyperv_connection).machines[0]
    plugin.srp_enable_tracking(hyperv_connection, machine)
    host.remove_vm("app")
    stranger = host.create_vm("app", folder="D:\\Other")
    with pytest.raises(MachineNotFound, match=r"is no longer on the host$"):
        plugin.srp_enable_tracking(hyperv_connection, machine)
    assert not host.agent.is_tracking(stranger)

    host.agent.enable_tracking(stranger)  # someone else protects the newcomer
    with pytest.raises(MachineNotFound) as caught:
        plugin.srp_capture_cut(hyperv_connection, CutRequest("c1", (machine,), ()))
    assert str(caught.value) == (
        f"{hyperv_connection.address}: New-SrpCut: the requested names now belong to other "
        f"VMs ({stranger.vm_id}); the cut was removed"
    )
    assert [e.command for e in host.command_log][-2:] == ["Remove-SrpCut", "ConvertTo-Json"]
    plugin.srp_disable_tracking(hyperv_connection, machine)
    assert host.agent.is_tracking(stranger)  # the newcomer's tracking is not ours to drop


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("entity-expansion", "error output declares a DOCTYPE or an entity"),
        ("external-entity", "error output declares a DOCTYPE or an entity"),
        ("garbage-base64", "output is not base64 of UTF-8 text: "),
        ("bad-json", "output is not valid JSON: "),
    ],
)
def test_hostile_output_is_refused_then_recovers(
    lab: HyperVLab, hyperv_connection: FabricConnection, mode: str, message: str
) -> None:
    host = lab.host("hv01")
    host.faults.hostile_output = mode
    with pytest.raises(HostileResponse) as caught:
        plugin.srp_connect(hyperv_connection)
    prefix = f"{hyperv_connection.address}: Get-VMHost: output refused: "
    assert str(caught.value).startswith(prefix + message)
    assert "root:" not in str(caught.value) and "lol" not in str(caught.value)
    host.faults.hostile_output = None
    assert plugin.srp_connect(hyperv_connection).name == "hv01"
