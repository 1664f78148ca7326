"""Write-SrpDiskExtent on the fake SrpAgent: stopped VMs only, bounded, tracked, literal values."""

from __future__ import annotations

import base64
import hashlib

import pytest

from fakes.hyperv import HyperVHost, VirtualMachine, VMState
from fakes.hyperv.agent import MAX_WRITE_BYTES
from tests.fakes.hyperv.hvfake_testkit import Runner

KIB = 1 << 10
MIB = 1 << 20


@pytest.fixture
def vm(hv01: HyperVHost) -> VirtualMachine:
    machine = hv01.create_vm("app", disks=[MIB], running=False)
    machine.disks[0].write(0, b"A" * 10000)
    return machine


def write_body(vm: VirtualMachine, offset: int, data: bytes, disk_id: str = "") -> str:
    disk = disk_id or vm.disks[0].disk_id
    payload = base64.b64encode(data).decode()
    return (
        f"Write-SrpDiskExtent -VMId '{vm.vm_id}' -DiskId '{disk}' -Offset {offset} "
        f"-Data '{payload}'"
    )


def test_a_write_lands_byte_for_byte_and_answers_its_digest(ps: Runner, vm: VirtualMachine) -> None:
    data = bytes(range(256)) * 32  # 8 KiB, the most one call carries
    rows = ps.ok(write_body(vm, 4096, data))
    assert rows == [
        {
            "VMId": vm.vm_id,
            "DiskId": vm.disks[0].disk_id.lower(),
            "Offset": 4096,
            "Length": len(data),
            "Sha256": hashlib.sha256(data).hexdigest(),
        }
    ]
    assert vm.disks[0].read(0, 4096) == b"A" * 4096
    assert vm.disks[0].read(4096, len(data)) == data
    assert vm.disks[0].read(4096 + len(data), 100) == b"\0" * 100


def test_written_blocks_come_with_the_next_incremental_cut(ps: Runner, vm: VirtualMachine) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    ps.ok("New-SrpCut -VMName 'app' -CutId 'c1' -Consistency 'Crash'")
    ps.ok("Confirm-SrpCut -CutId 'c1'")
    ps.ok(write_body(vm, 256 * KIB, b"failback data"))
    key = f"{vm.vm_id}/{vm.disks[0].disk_id}"
    (cut,) = ps.ok(
        f"New-SrpCut -VMName 'app' -CutId 'c2' -Consistency 'Crash' -Previous '{key}=c1'"
    )
    (disk,) = cut["Disks"]
    assert disk["Mode"] == "Incremental"
    offset, length = (int(part) for part in disk["Extents"].split(":"))
    assert offset <= 256 * KIB and offset + length >= 256 * KIB + len(b"failback data")


def test_a_running_vm_is_refused_and_its_disk_untouched(
    hv01: HyperVHost, ps: Runner, vm: VirtualMachine
) -> None:
    hv01.start_vm(vm)
    before = vm.disks[0].read(0, 10000)
    assert ps.error(write_body(vm, 0, b"overwrite")) == (
        "Write-SrpDiskExtent : Virtual machine 'app' is Running; Write-SrpDiskExtent writes only "
        "to the disks of a virtual machine that is off."
    )
    assert vm.disks[0].read(0, 10000) == before
    assert vm.state is VMState.Running


@pytest.mark.parametrize(
    ("offset", "size", "message"),
    [
        (
            0,
            MAX_WRITE_BYTES + 1,
            f"Write-SrpDiskExtent writes 1 to {MAX_WRITE_BYTES} bytes per call; "
            f"{MAX_WRITE_BYTES + 1} were given.",
        ),
        (0, 0, "Cannot bind argument to parameter 'Data' because it is an empty string."),
        (MIB - 10, 11, "The extent {end}:11 ends past the end of disk '{disk}' (1048576 bytes)."),
    ],
)
def test_out_of_bounds_writes_are_refused(
    ps: Runner, vm: VirtualMachine, offset: int, size: int, message: str
) -> None:
    disk_id = vm.disks[0].disk_id
    expected = message.format(end=offset, disk=disk_id)
    refused = ps.error(write_body(vm, offset, b"\x01" * size))
    assert refused == f"Write-SrpDiskExtent : {expected}"
    assert vm.disks[0].read(MIB - 10, 10) == b"\0" * 10


def test_unknown_vm_disk_and_bad_base64_are_refused(ps: Runner, vm: VirtualMachine) -> None:
    stranger = "0f0e0d0c-0b0a-0908-0706-050403020100"
    assert ps.error(
        f"Write-SrpDiskExtent -VMId '{stranger}' -DiskId 'd' -Offset 0 -Data 'AAAA'"
    ) == (f"Write-SrpDiskExtent : Virtual machine '{stranger}' was not found on this host.")
    assert ps.error(write_body(vm, 0, b"x", disk_id="no-such-disk")) == (
        "Write-SrpDiskExtent : Virtual machine 'app' has no disk 'no-such-disk'."
    )
    refused = ps.error(
        f"Write-SrpDiskExtent -VMId '{vm.vm_id}' -DiskId '{vm.disks[0].disk_id}' -Offset 0 "
        "-Data 'not base64!'"
    )
    assert refused.startswith("Write-SrpDiskExtent : Invalid -Data value: it is not base64")
    assert vm.disks[0].read(0, 4) == b"AAAA"


def test_quoted_values_stay_literal(hv01: HyperVHost, ps: Runner, vm: VirtualMachine) -> None:
    hostile = "x'';$(Remove-VM -Name ''app'' -Force);''"
    assert ps.error(write_body(vm, 0, b"x", disk_id=hostile)) == (
        "Write-SrpDiskExtent : Virtual machine 'app' has no disk "
        "'x';$(Remove-VM -Name 'app' -Force);''."
    )
    assert hv01.vm("app") is vm
    assert hv01.commands_run()[-1] == "Write-SrpDiskExtent"
    assert "Remove-VM" not in hv01.commands_run()
