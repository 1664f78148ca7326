"""srp_write_extents on Hyper-V: Write-SrpDiskExtent in bounded pieces, checked, VM off only."""

from __future__ import annotations

import hashlib

import pytest

from fakes.hyperv import HyperVLab
from plugins.hyperv import plugin, scripts
from plugins.hyperv.client import HyperVClient, RetryPolicy
from plugins.hyperv.sync import WRITE_BATCH_BYTES, write_extents
from plugins.hyperv.transport import encoded_command
from provider.contracts.connection import FabricConnection
from provider.contracts.replica import ExtentData
from provider.errors import HostileResponse, MachineNotFound, RemoteCommandFailed
from provider.model.inventory import Disk, Machine
from tests.plugins.hyperv.hvplugin_testkit import Scripted, ok

KIB = 1 << 10
MIB = 1 << 20
#: Windows' longest command line: the encoded script must fit in it.
COMMAND_LINE_LIMIT = 32_767
VM_ID = "5b1c7e0a-3f11-4c2e-9d5e-0123456789ab"
DISK_ID = "a3c9e0f1-7b2d-4e8f-9a1b-fedcba987654"


def discovered(connection: FabricConnection, name: str) -> Machine:
    inventory = plugin.srp_discover(connection)
    return next(machine for machine in inventory.machines if machine.name == name)


def test_writes_land_in_pieces_of_at_most_8_kib(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    host = lab.host("hv01")
    vm = host.create_vm("web01", disks=[MIB], running=False)
    machine = discovered(hyperv_connection, "web01")
    data = bytes(range(256)) * 80  # 20 KiB: three calls
    extents = [ExtentData(64 * KIB, data), ExtentData(512 * KIB, b"tail")]
    before = len(host.command_log)
    plugin.srp_write_extents(hyperv_connection, machine, machine.disks[0].disk_id, extents)
    assert vm.disks[0].read(64 * KIB, len(data)) == data
    assert vm.disks[0].read(512 * KIB, 4) == b"tail"
    assert vm.disks[0].read(0, 64 * KIB) == b"\0" * 64 * KIB
    writes = [e for e in host.command_log[before:] if e.command == "Write-SrpDiskExtent"]
    assert [e.parameter("Offset") for e in writes] == [64 * KIB, 72 * KIB, 80 * KIB, 512 * KIB]
    assert [e.command for e in host.command_log[before:]] == [
        command for _ in writes for command in ("Write-SrpDiskExtent", "ConvertTo-Json")
    ]


def test_a_running_vm_is_refused_with_the_agents_reason(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    vm = lab.host("hv01").create_vm("web01", disks=[MIB], running=True)
    machine = discovered(hyperv_connection, "web01")
    with pytest.raises(RemoteCommandFailed) as caught:
        plugin.srp_write_extents(
            hyperv_connection, machine, machine.disks[0].disk_id, [ExtentData(0, b"x")]
        )
    assert str(caught.value) == (
        f"{hyperv_connection.address}: Write-SrpDiskExtent failed: Write-SrpDiskExtent : "
        "Virtual machine 'web01' is Running; Write-SrpDiskExtent writes only to the disks of a "
        "virtual machine that is off."
    )
    assert vm.disks[0].read(0, 1) == b"\0"


def test_a_vm_that_is_gone_is_machine_not_found(
    lab: HyperVLab, hyperv_connection: FabricConnection
) -> None:
    lab.host("hv01").create_vm("web01", disks=[MIB], running=False)
    machine = discovered(hyperv_connection, "web01")
    lab.host("hv01").remove_vm("web01")
    with pytest.raises(MachineNotFound) as caught:
        plugin.srp_write_extents(
            hyperv_connection, machine, machine.disks[0].disk_id, [ExtentData(0, b"x")]
        )
    assert str(caught.value) == (
        f"{hyperv_connection.address}: Write-SrpDiskExtent: Write-SrpDiskExtent : Virtual "
        f"machine '{machine.machine_id}' was not found on this host."
    )


def machine() -> Machine:
    return Machine(VM_ID, "web01", "hv01", disks=(Disk(DISK_ID, "web01.vhdx", MIB),))


def client(transport: Scripted) -> HyperVClient:
    return HyperVClient("hv01", transport, RetryPolicy(1, 0, 0))


def answer(offset: int, data: bytes, digest: str = "") -> object:
    return ok(
        [
            {
                "VMId": VM_ID,
                "DiskId": DISK_ID,
                "Offset": offset,
                "Length": len(data),
                "Sha256": digest or hashlib.sha256(data).hexdigest().upper(),
            }
        ]
    )


def test_a_full_piece_fits_the_windows_command_line() -> None:
    script = scripts.write_disk_extent(VM_ID, DISK_ID, 2**40, b"\xff" * WRITE_BATCH_BYTES)
    assert len(encoded_command(script.text)) <= COMMAND_LINE_LIMIT


def test_an_answer_that_does_not_match_what_was_sent_is_hostile() -> None:
    data = b"\x42" * 100
    transport = Scripted(answer(0, data, digest="00" * 32))  # type: ignore[arg-type]
    with pytest.raises(HostileResponse) as caught:
        write_extents(client(transport), machine(), DISK_ID, [ExtentData(0, data)])
    assert str(caught.value) == (
        f"hv01: Write-SrpDiskExtent: wrote (offset, length, sha256) (0, 100, '{'00' * 32}'), "
        f"expected (0, 100, '{hashlib.sha256(data).hexdigest()}')"
    )


def test_values_are_quoted_and_data_is_plain_base64() -> None:
    data = b"'; Remove-VM -Name 'web01' -Force; '"
    transport = Scripted(answer(512, data))  # type: ignore[arg-type]
    hostile_disk = "d'$(Stop-VM)\u2019"
    write_extents(client(transport), machine(), hostile_disk, [ExtentData(512, data)])
    (script,) = transport.scripts
    assert (
        f"$result = Write-SrpDiskExtent -VMId '{VM_ID}' -DiskId 'd''$(Stop-VM)\u2019\u2019' "
        "-Offset 512 -Data 'JzsgUmVtb3ZlLVZNIC1OYW1lICd3ZWIwMScgLUZvcmNlOyAn'\n"
    ) in script
