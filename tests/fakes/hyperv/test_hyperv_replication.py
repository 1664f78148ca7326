"""Hyper-V Replica between two fake hosts: rules, state machine, clock-driven cycles, failover."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.clock import DEFAULT_START
from fakes.hyperv import HyperVHost, HyperVLab, VMState
from fakes.hyperv.enums import ReplicationHealth, ReplicationMode, ReplicationState
from fakes.hyperv.replication import ReplicationLink, ReplicationSettings, retry_delay
from tests.fakes.hyperv.hvfake_testkit import Runner

MIB = 1 << 20
SERVER = (
    "Set-VMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType 'Kerberos' "
    "-ReplicationAllowedFromAnyServer $true -DefaultStorageLocation 'D:\\Replica'"
)
STATUS = (
    "Get-VMReplication -VMName 'web' | Select-Object VMName, @{n='State';e={[string]$_.State}}, "
    "@{n='Health';e={[string]$_.Health}}, @{n='Mode';e={[string]$_.Mode}}, FrequencySec, "
    "PrimaryServer, ReplicaServer, LastReplicationTime"
)


def enable(frequency: int = 300, extra: str = "", vm: str = "web", server: str = "hv02") -> str:
    return (
        f"Enable-VMReplication -VMName '{vm}' -ReplicaServerName '{server}' "
        f"-ReplicaServerPort 80 -AuthenticationType 'Kerberos' -CompressionEnabled $true "
        f"-ReplicationFrequencySec {frequency}{extra}"
    )


@pytest.fixture
def web(hv01: HyperVHost, ps: Runner, ps2: Runner) -> Iterator[HyperVHost]:
    ps.ok(SERVER)
    ps2.ok(SERVER)
    vm = hv01.create_vm("web", disks=[MIB], switch="LAN", running=True)
    vm.disks[0].write(0, b"boot sector")
    vm.disks[0].write(64 * 1024, b"data" * 1024)
    yield hv01


def state(ps: Runner) -> tuple[str, str, str]:
    (row,) = ps.ok(STATUS)
    return row["State"], row["Health"], row["Mode"]


def link_of(host: HyperVHost) -> ReplicationLink:
    link = host.vm("web").replication
    assert link is not None
    return link


def replicating(lab: HyperVLab, ps: Runner, frequency: int = 300, extra: str = "") -> None:
    ps.ok(enable(frequency, extra))
    ps.ok("Start-VMInitialReplication -VMName 'web'")
    lab.clock.advance(1)


# -- enabling --------------------------------------------------------------------------


def test_enable_creates_the_replica_vm(
    web: HyperVHost, hv02: HyperVHost, ps: Runner, ps2: Runner
) -> None:
    assert ps.ok(enable()) == []
    primary, replica = web.vm("web"), hv02.vm("web")
    assert replica.id == primary.id
    assert replica.state is VMState.Off
    assert [disk.capacity for disk in replica.disks] == [MIB]
    assert replica.drives[0].vhd.path == (
        f"D:\\Replica\\Hyper-V Replica\\Virtual hard disks\\{primary.vm_id.upper()}\\web_0.vhdx"
    )
    assert ps.ok(STATUS) == [
        {
            "VMName": "web",
            "State": "ReadyForInitialReplication",
            "Health": "Normal",
            "Mode": "Primary",
            "FrequencySec": 300,
            "PrimaryServer": "hv01.srp.test",
            "ReplicaServer": "hv02.srp.test",
            "LastReplicationTime": None,
        }
    ]
    assert state(ps2) == ("WaitingForInitialReplication", "Normal", "Replica")
    rows = ps.ok("Get-VM -Name 'web' | Select-Object ReplicationState, ReplicationMode")
    assert rows == [{"ReplicationState": 1, "ReplicationMode": 1}]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            " -ReplicationFrequencySec 60",
            "Enable-VMReplication : Cannot bind parameter because parameter "
            "'ReplicationFrequencySec' is specified more than once.",
        ),
    ],
)
def test_frequency_given_twice(web: HyperVHost, ps: Runner, extra: str, message: str) -> None:
    assert ps.error(enable(300, extra)).startswith(message)


@pytest.mark.parametrize(
    ("frequency", "extra", "message"),
    [
        (
            60,
            "",
            "Enable-VMReplication : Cannot validate argument on parameter "
            "'ReplicationFrequencySec'. The argument \"60\" does not belong to the set "
            '"30,300,900" specified by the ValidateSet attribute. Supply an argument that is in '
            "the set and then try the command again.",
        ),
        (
            300,
            " -RecoveryHistory 25",
            "Enable-VMReplication : Cannot validate argument on parameter 'RecoveryHistory'. The "
            "25 argument is greater than the maximum allowed range of 24. Supply an argument "
            "that is less than or equal to 24 and then try the command again.",
        ),
        (
            300,
            " -RecoveryHistory -1",
            "Enable-VMReplication : Cannot validate argument on parameter 'RecoveryHistory'. The "
            "-1 argument is less than the minimum allowed range of 0. Supply an argument that is "
            "greater than or equal to 0 and then try the command again.",
        ),
        (
            300,
            " -VSSSnapshotFrequencyHour 13",
            "Enable-VMReplication : Cannot validate argument on parameter "
            "'VSSSnapshotFrequencyHour'. The 13 argument is greater than the maximum allowed "
            "range of 12. Supply an argument that is less than or equal to 12 and then try the "
            "command again.",
        ),
    ],
)
def test_parameter_validation(
    web: HyperVHost, ps: Runner, frequency: int, extra: str, message: str
) -> None:
    assert ps.error(enable(frequency, extra)) == message
    assert web.vm("web").replication is None


def test_settings_validate_in_python() -> None:
    with pytest.raises(ValueError, match=r"frequency must be one of \(30, 300, 900\), got 120"):
        ReplicationSettings("hv02", frequency_sec=120)


def test_enable_rule_errors(web: HyperVHost, hv02: HyperVHost, ps: Runner, lab: HyperVLab) -> None:
    vm_id = web.vm("web").vm_id.upper()
    unreachable = (
        "Enable-VMReplication : Hyper-V could not connect to the specified Replica server "
        "'{0}'. Error: A connection with the server could not be established (0x00002EFD). "
        "Verify that the specified server is enabled as a Replica server, allows inbound "
        "connection on the specified port, and supports the same authentication scheme."
    )
    assert ps.error(enable(server="hv99")) == unreachable.format("hv99")
    lab.drop_link("hv01", "hv02")
    assert ps.error(enable()) == unreachable.format("hv02")
    lab.restore_link("hv01", "hv02")
    hv02.replication_server.enabled = False
    assert ps.error(enable()) == unreachable.format("hv02")
    hv02.replication_server.enabled = True
    assert ps.error(enable(server="hv01")) == (
        "Enable-VMReplication : 'web' failed to enable replication.The Replica server must be "
        f"different from the primary server. (Virtual machine ID {vm_id})"
    )
    ps.ok(enable())
    assert ps.error(enable()) == (
        "Enable-VMReplication : Replication is already enabled for virtual machine 'web'."
    )


def test_replication_not_enabled(web: HyperVHost, ps: Runner) -> None:
    assert ps.error("Get-VMReplication -VMName 'web'") == (
        "Get-VMReplication : Replication is not enabled for virtual machine 'web'."
    )
    assert ps.error("Get-VMReplication -VMName 'gone'") == (
        'Get-VMReplication : Hyper-V was unable to find a virtual machine with name "gone".'
    )
    assert ps.ok("Get-VMReplication | Select-Object VMName") == []


# -- initial replication and cycles ----------------------------------------------------


def test_initial_replication_takes_the_transfer_time(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    lab.bandwidth = 4096  # two blocks are allocated: 8192 bytes take two virtual seconds
    ps.ok(enable())
    ps.ok("Start-VMInitialReplication -VMName 'web'")
    assert state(ps) == ("InitialReplicationInProgress", "Normal", "Primary")
    web.vm("web").disks[0].write(0, b"BOOT")  # after the initial cut: goes in the first cycle
    lab.clock.advance(1)
    assert state(ps) == ("InitialReplicationInProgress", "Normal", "Primary")
    lab.clock.advance(1)
    assert state(ps) == ("Replicating", "Normal", "Primary")
    assert state(ps2) == ("Replicating", "Normal", "Replica")
    replica_disk = hv02.vm("web").disks[0]
    assert replica_disk.read(0, 11) == b"boot sector"
    assert replica_disk.read(64 * 1024, 4096) == b"data" * 1024
    (row,) = ps.ok(STATUS)
    assert row["LastReplicationTime"] == f"/Date({int(DEFAULT_START + 2) * 1000})/"
    lab.clock.advance(300)
    assert replica_disk.read(0, 11) == b"BOOT sector"
    assert replica_disk.digest() == web.vm("web").disks[0].digest()
    assert ps.error("Start-VMInitialReplication -VMName 'web'") == (
        "Start-VMInitialReplication : 'web' failed to start initial replication.The operation "
        "cannot be performed while the object is in its current state (replication state: "
        f"Replicating). (Virtual machine ID {web.vm('web').vm_id.upper()})"
    )


def test_cycles_follow_the_frequency(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps, frequency=30)
    disk, replica = web.vm("web").disks[0], hv02.vm("web").disks[0]
    disk.write(12288, b"cycle")
    lab.clock.advance(29)
    assert replica.read(12288, 5) == bytes(5)
    lab.clock.advance(1)
    assert replica.read(12288, 5) == b"cycle"
    (stats,) = ps.ok(
        "Measure-VMReplication -VMName 'web' | Select-Object SuccessfulReplicationCount, "
        "PendingReplicationSize, ReplicationErrors, AverageReplicationSize"
    )
    assert stats == {
        "SuccessfulReplicationCount": 2,
        "PendingReplicationSize": 0,
        "ReplicationErrors": 0,
        "AverageReplicationSize": (8192 + 4096) // 2,
    }


def test_failed_cycles_retry_on_the_backoff_schedule(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps, frequency=300)
    start = lab.clock.now()
    lab.drop_link("hv01", "hv02")
    lab.clock.advance(300)
    assert state(ps) == ("Replicating", "Critical", "Primary")
    lab.clock.advance(60 + 120 + 240 + 480 + 600 + 1800 + 1800)
    failures = [at - start for at, ok in link_of(web).outcomes if not ok]
    assert failures == [300, 360, 480, 720, 1200, 1800, 3600, 5400]
    assert [retry_delay(n) for n in range(1, 9)] == [60, 120, 240, 480, 600, 1800, 1800, 1800]
    web.vm("web").disks[0].write(0, b"late")
    lab.restore_link("hv01", "hv02")
    lab.clock.advance(1800)
    assert hv02.vm("web").disks[0].read(0, 4) == b"late"
    assert link_of(web).outcomes[-1] == (start + 7200, True)
    assert state(ps) == ("Replicating", "Warning", "Primary")
    lab.clock.advance(3600)
    assert state(ps) == ("Replicating", "Normal", "Primary")


def test_health_warning_when_over_a_fifth_of_the_cycles_are_missed(
    web: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps, frequency=300)
    lab.clock.advance(3600)
    link = link_of(web)
    assert state(ps) == ("Replicating", "Normal", "Primary")
    lab.drop_link("hv01", "hv02")
    lab.clock.advance(300 + 60 + 120 + 240 + 480)  # the cycle and four retries fail
    assert state(ps)[1] == "Critical"
    lab.restore_link("hv01", "hv02")
    lab.clock.advance(600)  # the fifth retry succeeds
    now = lab.clock.now()
    assert link.outcomes[-1] == (now, True)
    # Twelve cycles were due in the last hour; seven replicated (six before the outage).
    assert link.missed_cycles(now) == 5
    assert state(ps) == ("Replicating", "Warning", "Primary")


def test_health_warning_when_nothing_replicated_for_an_hour(
    web: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    ps.ok(enable())
    lab.clock.advance(3600)
    assert state(ps) == ("ReadyForInitialReplication", "Normal", "Primary")
    lab.clock.advance(1)
    assert state(ps) == ("ReadyForInitialReplication", "Warning", "Primary")


def test_suspend_and_resume(web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner) -> None:
    replicating(lab, ps)
    ps.ok("Suspend-VMReplication -VMName 'web'")
    assert state(ps) == ("Suspended", "Warning", "Primary")
    web.vm("web").disks[0].write(0, b"held")
    lab.clock.advance(900)
    assert hv02.vm("web").disks[0].read(0, 4) == b"boot"
    (row,) = ps.ok("Measure-VMReplication -VMName 'web' | Select-Object PendingReplicationSize")
    assert row == {"PendingReplicationSize": 4096}
    assert ps.error("Suspend-VMReplication -VMName 'web'").startswith(
        "Suspend-VMReplication : 'web' failed to suspend replication.The operation cannot be "
        "performed while the object is in its current state (replication state: Suspended)."
    )
    ps.ok("Resume-VMReplication -VMName 'web'")
    lab.clock.advance(0)
    assert hv02.vm("web").disks[0].read(0, 4) == b"held"
    assert state(ps)[0] == "Replicating"


# -- resynchronization -----------------------------------------------------------------


def test_changes_over_half_the_disk_require_a_resync(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps)
    disk = web.vm("web").disks[0]
    disk.write(0, b"\x01" * (MIB // 2 + 4096))
    lab.clock.advance(300)
    assert state(ps) == ("WaitingForStartResynchronize", "Critical", "Primary")
    vm_id = web.vm("web").vm_id.upper()
    assert ps.error("Resume-VMReplication -VMName 'web'") == (
        "Resume-VMReplication : 'web' failed to resume replication.Resynchronization is "
        f"required. Use Resume-VMReplication -Resynchronize. (Virtual machine ID {vm_id})"
    )
    lab.clock.advance(3600)
    assert state(ps)[0] == "WaitingForStartResynchronize"
    ps.ok("Resume-VMReplication -VMName 'web' -Resynchronize")
    assert state(ps)[0] == "Resynchronizing"
    lab.clock.advance(1)
    assert state(ps) == ("Replicating", "Normal", "Primary")
    assert hv02.vm("web").disks[0].digest() == disk.digest()


def test_unclean_stop_resynchronizes_automatically_when_enabled(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps, extra=" -AutoResynchronizeEnabled $true")
    disk = web.vm("web").disks[0]
    disk.write(4096, b"before crash")
    web.crash()
    assert web.vm("web").state is VMState.Off
    lab.clock.advance(300)
    assert state(ps)[0] == "Resynchronizing"
    lab.clock.advance(1)
    assert state(ps) == ("Replicating", "Normal", "Primary")
    assert hv02.vm("web").disks[0].read(4096, 12) == b"before crash"
    assert hv02.vm("web").disks[0].digest() == disk.digest()


def test_unclean_stop_waits_for_a_resync_otherwise(
    web: HyperVHost, lab: HyperVLab, ps: Runner
) -> None:
    replicating(lab, ps)
    web.crash()
    lab.clock.advance(300)
    assert state(ps) == ("WaitingForStartResynchronize", "Critical", "Primary")


# -- failover --------------------------------------------------------------------------


def test_planned_failover_and_reverse(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    replicating(lab, ps)
    vm_id = web.vm("web").vm_id.upper()
    assert ps.error("Start-VMFailover -VMName 'web' -Prepare") == (
        "Start-VMFailover : 'web' failed to prepare for failover.The virtual machine must be "
        "turned off before it can be prepared for planned failover. (Virtual machine ID "
        f"{vm_id})"
    )
    web.vm("web").disks[0].write(0, b"last words")
    ps.ok("Stop-VM -Name 'web' -Force")
    ps.ok("Start-VMFailover -VMName 'web' -Prepare")
    assert state(ps) == ("PreparedForFailover", "Normal", "Primary")
    assert state(ps2) == ("PreparedForFailover", "Normal", "Replica")
    assert hv02.vm("web").disks[0].read(0, 10) == b"last words"
    assert ps.error("Start-VM -Name 'web'") == (
        "Start-VM : 'web' failed to start.The virtual machine is prepared for planned failover "
        f"and cannot be started. (Virtual machine ID {vm_id})"
    )
    assert ps2.error("Complete-VMFailover -VMName 'web'") == (
        "Complete-VMFailover : 'web' failed to complete failover.The operation cannot be "
        "performed while the object is in its current state (replication state: "
        f"PreparedForFailover). (Virtual machine ID {vm_id})"
    )
    ps2.ok("Start-VMFailover -VMName 'web'")
    assert state(ps2) == ("FailedOverWaitingCompletion", "Normal", "Replica")
    ps2.ok("Start-VM -Name 'web'")
    ps2.ok("Complete-VMFailover -VMName 'web'")
    assert state(ps2) == ("FailedOver", "Normal", "Replica")
    hv02.vm("web").disks[0].write(8192, b"written at DR")
    ps2.ok("Stop-VM -Name 'web' -Force")
    ps2.ok("Set-VMReplication -VMName 'web' -Reverse -ReplicaServerName 'hv01'")
    assert state(ps2) == ("Replicating", "Normal", "Primary")
    assert state(ps) == ("Replicating", "Normal", "Replica")
    lab.clock.advance(300)
    assert web.vm("web").disks[0].read(8192, 13) == b"written at DR"
    assert web.vm("web").disks[0].digest() == hv02.vm("web").disks[0].digest()
    (row,) = ps2.ok(STATUS)
    assert (row["PrimaryServer"], row["ReplicaServer"]) == ("hv02.srp.test", "hv01.srp.test")


def test_replica_vm_cannot_start_before_failover(
    web: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    replicating(lab, ps)
    vm_id = web.vm("web").vm_id.upper()
    assert ps2.error("Start-VM -Name 'web'") == (
        "Start-VM : 'web' failed to start.A Replica virtual machine cannot be started before "
        f"it is failed over. (Virtual machine ID {vm_id})"
    )
    assert ps2.error("Start-VMFailover -VMName 'web' -Prepare") == (
        "Start-VMFailover : 'web' failed to prepare for failover.A planned failover is prepared "
        f"on the primary virtual machine, not on the Replica. (Virtual machine ID {vm_id})"
    )
    assert ps.error("Start-VMFailover -VMName 'web'") == (
        "Start-VMFailover : 'web' failed to fail over.The operation is only valid on the "
        f"Replica virtual machine. (Virtual machine ID {vm_id})"
    )


def test_unplanned_failover_and_cancel(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    replicating(lab, ps)
    replica = hv02.vm("web")
    ps2.ok("Start-VMFailover -VMName 'web'")
    assert state(ps2)[0] == "FailedOverWaitingCompletion"
    ps2.ok("Start-VM -Name 'web'")
    replica.disks[0].write(0, b"scribble")
    web.vm("web").disks[0].write(4096, b"primary still runs")
    lab.clock.advance(300)
    assert state(ps)[1] == "Critical"
    vm_id = replica.vm_id.upper()
    assert ps2.error("Stop-VMFailover -VMName 'web'") == (
        "Stop-VMFailover : 'web' failed to stop failover.The virtual machine must be turned off "
        f"before the failover can be cancelled. (Virtual machine ID {vm_id})"
    )
    ps2.ok("Stop-VM -Name 'web' -TurnOff -Force")
    ps2.ok("Stop-VMFailover -VMName 'web'")
    assert state(ps2)[0] == "Replicating"
    assert replica.disks[0].read(0, 11) == b"boot sector"
    lab.clock.advance(60)  # the primary's next retry now succeeds
    assert state(ps) == ("Replicating", "Normal", "Primary")
    assert replica.disks[0].read(4096, 18) == b"primary still runs"


def test_test_failover(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    replicating(lab, ps)
    ps2.ok("Start-VMFailover -VMName 'web' -AsTest")
    rows = ps2.ok("Get-VM | Select-Object Name, @{n='Mode';e={[string]$_.ReplicationMode}}")
    assert rows == [
        {"Name": "web", "Mode": "Replica"},
        {"Name": "web - Test", "Mode": "TestReplica"},
    ]
    test_vm = hv02.vm("web - Test")
    assert test_vm.disks[0].digest() == hv02.vm("web").disks[0].digest()
    assert [adapter.switch_name for adapter in test_vm.adapters] == [None]
    test_vm.disks[0].write(0, b"test only")
    assert hv02.vm("web").disks[0].read(0, 4) == b"boot"
    assert state(ps2)[0] == "Replicating"
    vm_id = web.vm("web").vm_id.upper()
    assert ps2.error("Start-VMFailover -VMName 'web' -AsTest") == (
        "Start-VMFailover : 'web' failed to start test failover.A test failover is already in "
        f"progress for this virtual machine. (Virtual machine ID {vm_id})"
    )
    ps2.ok("Stop-VMFailover -VMName 'web'")
    assert [vm.name for vm in hv02.vms] == ["web"]
    ps2.ok("Start-VMFailover -VMName 'web' -AsTest")
    assert hv02.vm("web - Test").disks[0].read(0, 4) == b"boot"


def test_failover_needs_a_recovery_point(web: HyperVHost, ps: Runner, ps2: Runner) -> None:
    ps.ok(enable())
    vm_id = web.vm("web").vm_id.upper()
    assert ps2.error("Start-VMFailover -VMName 'web'") == (
        "Start-VMFailover : 'web' failed to fail over.The operation cannot be performed while "
        "the object is in its current state (replication state: WaitingForInitialReplication). "
        f"(Virtual machine ID {vm_id})"
    )


def test_recovery_points(web: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner) -> None:
    replicating(lab, ps, extra=" -RecoveryHistory 2 -VSSSnapshotFrequencyHour 2")
    lab.clock.advance(3 * 3600)
    rows = ps2.ok(
        "Get-VMSnapshot -VMName 'web' -SnapshotType 'Replica' | Select-Object Name, VMName, "
        "@{n='SnapshotType';e={[string]$_.SnapshotType}}, CreationTime"
    )
    assert rows == [
        {
            "Name": "web - Application-consistent Replica - (1/15/2027 - 10:00:01 AM)",
            "VMName": "web",
            "SnapshotType": "AppConsistentReplica",
            "CreationTime": f"/Date({int(DEFAULT_START + 7201) * 1000})/",
        },
        {
            "Name": "web - Standard Replica - (1/15/2027 - 11:00:01 AM)",
            "VMName": "web",
            "SnapshotType": "Replica",
            "CreationTime": f"/Date({int(DEFAULT_START + 10801) * 1000})/",
        },
    ]
    assert ps.ok("Get-VMSnapshot -VMName 'web' | Select-Object Name") == []


def test_remove_replication(
    web: HyperVHost, hv02: HyperVHost, lab: HyperVLab, ps: Runner, ps2: Runner
) -> None:
    replicating(lab, ps)
    ps.ok("Remove-VMReplication -VMName 'web'")
    assert web.vm("web").replication is None
    assert not web.vm("web").disks[0].tracking_enabled
    assert state(ps2)[2] == "Replica"
    ps2.ok("Remove-VMReplication -VMName 'web'")
    assert hv02.vm("web").replication_view() == (
        ReplicationState.Disabled,
        ReplicationHealth.NotApplicable,
        ReplicationMode.None_,
    )
    ps2.ok("Start-VM -Name 'web'")
