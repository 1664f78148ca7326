"""SrpAgent cuts on the fake disks: modes, extents, byte-exact reads and digests, rules."""

from __future__ import annotations

import base64
import hashlib

import pytest

from fakes.hyperv import HyperVHost, VirtualMachine
from tests.fakes.hyperv.hvfake_testkit import Runner

MIB = 1 << 20


@pytest.fixture
def vm(hv01: HyperVHost) -> VirtualMachine:
    machine = hv01.create_vm("app", disks=[MIB, MIB // 2], running=True)
    machine.disks[0].write(0, b"A" * 10000)
    machine.disks[1].write(MIB // 4, b"second disk")
    return machine


def cut(
    ps: Runner, cut_id: str, previous: dict[str, str] | None = None, mode: str = "Crash"
) -> dict:  # type: ignore[type-arg]
    body = f"New-SrpCut -VMName 'app' -CutId '{cut_id}' -Consistency '{mode}'"
    if previous:
        body += " -Previous " + ",".join(f"'{key}={value}'" for key, value in previous.items())
    (result,) = ps.ok(body)
    return result  # type: ignore[no-any-return]


def keys(vm: VirtualMachine) -> list[str]:
    return [f"{vm.vm_id}/{disk.disk_id}" for disk in vm.disks]


def read(ps: Runner, cut_id: str, vm: VirtualMachine, index: int, extents: str) -> bytes:
    disk_id = vm.disks[index].disk_id
    (row,) = ps.ok(
        f"Read-SrpCutExtent -CutId '{cut_id}' -VMId '{vm.vm_id}' -DiskId '{disk_id}' "
        f"-Extents '{extents}'"
    )
    return base64.b64decode(row["Data"])


def test_enable_tracking(ps: Runner, vm: VirtualMachine) -> None:
    rows = ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    assert rows == [
        {
            "VMName": "app",
            "VMId": vm.vm_id,
            "BaseCut": f"base-{vm.vm_id}-1",
            "Disks": [disk.disk_id for disk in vm.disks],
        }
    ]
    assert all(disk.tracking_enabled for disk in vm.disks)
    assert ps.ok("Enable-SrpChangeTracking -VMName 'app'") == rows


def test_full_then_incremental_cuts_are_byte_exact(
    hv01: HyperVHost, ps: Runner, vm: VirtualMachine
) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    first = cut(ps, "c1")
    assert first["Cut"] == {
        "CutId": "c1",
        "TakenAt": int(hv01.now()),
        "Consistency": "Crash",
        "Note": "",
    }
    assert first["Disks"] == [
        {
            "VMId": vm.vm_id,
            "DiskId": vm.disks[0].disk_id,
            "Capacity": MIB,
            "Mode": "Full",
            "Extents": "0:12288",
            "Reason": "no previous cut was given",
        },
        {
            "VMId": vm.vm_id,
            "DiskId": vm.disks[1].disk_id,
            "Capacity": MIB // 2,
            "Mode": "Full",
            "Extents": f"{MIB // 4}:4096",
            "Reason": "no previous cut was given",
        },
    ]
    vm.disks[0].write(5000, b"changed after the cut")
    assert read(ps, "c1", vm, 0, "0:12288") == b"A" * 10000 + bytes(2288)
    assert read(ps, "c1", vm, 1, f"{MIB // 4}:11,0:3") == b"second disk" + bytes(3)
    ps.ok("Confirm-SrpCut -CutId 'c1'")
    second = cut(ps, "c2", dict.fromkeys(keys(vm), "c1"))
    assert [(disk["Mode"], disk["Extents"]) for disk in second["Disks"]] == [
        ("Incremental", "4096:4096"),
        ("Incremental", ""),
    ]
    expected = (b"A" * 904 + b"changed after the cut" + b"A" * 10000)[:4096]
    assert read(ps, "c2", vm, 0, "4096:4096") == expected
    assert read(ps, "c2", vm, 0, "4096:4096") == vm.disks[0].read(4096, 4096)


def test_unconfirmed_changes_are_not_lost(ps: Runner, vm: VirtualMachine) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    cut(ps, "c1")
    ps.ok("Confirm-SrpCut -CutId 'c1'")
    vm.disks[0].write(20480, b"x")
    cut(ps, "c2", dict.fromkeys(keys(vm), "c1"))
    ps.ok("Remove-SrpCut -CutId 'c2'")
    vm.disks[0].write(40960, b"y")
    third = cut(ps, "c3", dict.fromkeys(keys(vm), "c1"))
    assert third["Disks"][0]["Extents"] == "20480:4096,40960:4096"
    fourth = cut(ps, "c4", dict.fromkeys(keys(vm), "c3"))
    assert fourth["Disks"][0] == {**fourth["Disks"][0], "Mode": "Incremental", "Extents": ""}


def test_resync_cases(hv01: HyperVHost, ps: Runner, vm: VirtualMachine) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    cut(ps, "c1")
    ps.ok("Confirm-SrpCut -CutId 'c1'")
    unknown = cut(ps, "c2", dict.fromkeys(keys(vm), "nope"))
    assert unknown["Disks"][0]["Mode"] == "Resync"
    assert unknown["Disks"][0]["Reason"] == (
        "previous cut 'nope' is not known to the agent for this disk"
    )
    hv01.lose_tracking("app")
    lost = cut(ps, "c3", dict.fromkeys(keys(vm), "c1"))
    assert [disk["Reason"] for disk in lost["Disks"]] == ["resilient change tracking was lost"] * 2
    assert lost["Disks"][0]["Extents"] == "0:12288"
    hv01.crash()
    crashed = cut(ps, "c4", dict.fromkeys(keys(vm), "c3"))
    assert crashed["Disks"][0]["Mode"] == "Resync"
    assert crashed["Disks"][0]["Reason"] == (
        "the disk was stopped uncleanly; change tracking restarted"
    )
    vm.disks[1].write(0, b"z" * (MIB // 4 + 4096))
    overflow = cut(ps, "c5", dict.fromkeys(keys(vm), "c4"))
    assert [disk["Mode"] for disk in overflow["Disks"]] == ["Incremental", "Resync"]
    assert overflow["Disks"][1]["Reason"].startswith("tracked changes (266240 bytes) exceed half")


def test_application_consistency_and_vss_failure(
    hv01: HyperVHost, ps: Runner, vm: VirtualMachine
) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    assert cut(ps, "c1", mode="Application")["Cut"]["Consistency"] == "Application"
    hv01.faults.vss_failure = "the writer 'SqlServerWriter' timed out"
    result = cut(ps, "c2", mode="Application")["Cut"]
    assert (result["Consistency"], result["Note"]) == (
        "Crash",
        "VSS quiesce failed: the writer 'SqlServerWriter' timed out",
    )


def test_block_digests(ps: Runner, vm: VirtualMachine) -> None:
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    cut(ps, "c1")
    vm.disks[0].write(0, b"later")
    disk_id = vm.disks[0].disk_id
    (row,) = ps.ok(
        f"Get-SrpBlockDigests -CutId 'c1' -VMId '{vm.vm_id}' -DiskId '{disk_id}' "
        "-BlockSize 8192 -Offset 0 -Count 3"
    )
    content = b"A" * 10000 + bytes(8192 * 3 - 10000)
    expected = b"".join(
        hashlib.sha256(content[i : i + 8192]).digest() for i in range(0, 8192 * 3, 8192)
    )
    assert base64.b64decode(row["Digests"]) == expected


def test_agent_errors(ps: Runner, vm: VirtualMachine) -> None:
    assert ps.error("New-SrpCut -VMName 'app' -CutId 'c1'") == (
        "New-SrpCut : Change tracking is not enabled for virtual machine 'app'. Run "
        "Enable-SrpChangeTracking first."
    )
    ps.ok("Enable-SrpChangeTracking -VMName 'app'")
    cut(ps, "c1")
    assert ps.error("New-SrpCut -VMName 'app' -CutId 'c1'") == (
        "New-SrpCut : A cut with id 'c1' already exists."
    )
    assert ps.error("Confirm-SrpCut -CutId 'zz'") == "Confirm-SrpCut : Cut 'zz' was not found."
    disk_id = vm.disks[0].disk_id
    too_big = f"Read-SrpCutExtent -CutId 'c1' -VMId '{vm.vm_id}' -DiskId '{disk_id}'"
    assert ps.error(too_big + " -Extents '0:4194305'") == (
        "Read-SrpCutExtent : Read-SrpCutExtent reads at most 4194304 bytes per call; 4194305 "
        "were asked."
    )
    assert ps.error(too_big + " -Extents '0:x'") == (
        "Read-SrpCutExtent : Invalid -Extents value: '0:x' is not an extent of the form "
        "offset:length."
    )
    assert ps.error(too_big + f" -Extents '{MIB}:1'") == (
        f"Read-SrpCutExtent : The extent {MIB}:1 ends past the end of disk '{disk_id}' "
        f"({MIB} bytes)."
    )
    ps.ok("Confirm-SrpCut -CutId 'c1'")
    assert ps.error(too_big + " -Extents '0:1'") == (
        f"Read-SrpCutExtent : Cut 'c1' is not available on disk '{disk_id}': it does not "
        "exist, or it was confirmed or removed."
    )
    assert ps.error("New-SrpCut -VMName 'app' -CutId 'c9' -Previous 'junk'") == (
        "New-SrpCut : Invalid -Previous value: 'junk' is not of the form vmid/diskid=cutid."
    )


def test_multi_vm_cut_and_replica_exclusion(
    hv01: HyperVHost, ps: Runner, vm: VirtualMachine
) -> None:
    other = hv01.create_vm("other", disks=[MIB])
    ps.ok("Enable-SrpChangeTracking -VMName 'app','other'")
    (result,) = ps.ok("New-SrpCut -VMName 'app','other' -CutId 'g1' -Consistency 'Crash'")
    assert [disk["VMId"] for disk in result["Disks"]] == [vm.vm_id, vm.vm_id, other.vm_id]
    ps.ok("Disable-SrpChangeTracking -VMName 'other'")
    assert not other.disks[0].tracking_enabled
    ps.ok(
        "Set-VMReplicationServer -ReplicationEnabled $true -ReplicationAllowedFromAnyServer $true"
    )
    assert ps.error(
        "Enable-VMReplication -VMName 'app' -ReplicaServerName 'hv02' -ReplicaServerPort 80 "
        "-AuthenticationType 'Kerberos'"
    ) == (
        "Enable-VMReplication : 'app' failed to enable replication.The virtual machine is "
        f"protected by srp change tracking (SrpAgent). (Virtual machine ID {vm.vm_id.upper()})"
    )
