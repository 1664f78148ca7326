"""Hyper-V Replica between two fake hosts through HyperVReplica (in process and over WinRM)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.hyperv import HyperVLab
from plugins.hyperv.client import client_for
from plugins.hyperv.replica import HyperVReplica, ReplicaPoint, ReplicationStatus, Side
from plugins.hyperv.scripts import ReplicationSettings
from provider.errors import RemoteCommandFailed
from tests.plugins.hyperv.hvplugin_testkit import Connect

MIB = 1 << 20
START = 1_800_000_000.0


@pytest.fixture
def pair(connect: Connect) -> Iterator[HyperVReplica]:
    primary, replica = client_for(connect("hv01")), client_for(connect("hv02"))
    yield HyperVReplica(primary, replica)
    primary.close()
    replica.close()


def replicating(lab: HyperVLab, pair: HyperVReplica, recovery_history: int = 0) -> None:
    """hv02 accepts replicas; 'web' (running, with data) replicates to it every 30 s."""
    vm = lab.host("hv01").create_vm("web", disks=[MIB], switch="LAN", running=True)
    vm.disks[0].write(0, b"first boot")
    pair.configure_replica_server("D:\\Replica")
    settings = ReplicationSettings(
        pair.server_name(Side.REPLICA), frequency_sec=30, recovery_history=recovery_history
    )
    assert pair.enable("web", settings).state == "ReadyForInitialReplication"
    assert pair.start_initial_replication("web").state == "InitialReplicationInProgress"
    lab.clock.advance(5)


def replica_bytes(lab: HyperVLab, host: str) -> bytes:
    disk = lab.host(host).vm("web").disks[0]
    return disk.read(0, disk.capacity)


def test_enable_and_replicate(lab: HyperVLab, pair: HyperVReplica) -> None:
    replicating(lab, pair)
    assert pair.status("web") == ReplicationStatus(
        vm_name="web",
        state="Replicating",
        health="Normal",
        mode="Primary",
        frequency_sec=30,
        primary_server="hv01.srp.test",
        replica_server="hv02.srp.test",
        last_replication=START + 1,
    )
    assert pair.status("web", Side.REPLICA).mode == "Replica"
    lab.host("hv01").vm("web").disks[0].write(MIB - 4096, b"later")
    lab.clock.advance(30)
    assert replica_bytes(lab, "hv02") == replica_bytes(lab, "hv01")


def test_test_failover_and_cleanup(lab: HyperVLab, pair: HyperVReplica) -> None:
    replicating(lab, pair)
    assert pair.test_failover("web").test_vm_name == "web - Test"
    assert lab.host("hv02").vm("web - Test").disks[0].read(0, 10) == b"first boot"
    assert pair.cleanup_test_failover("web").test_vm_name == ""
    assert lab.host("hv02").find_vms("web - Test") == []
    assert pair.status("web").state == "Replicating"


def test_planned_failover_then_reverse(lab: HyperVLab, pair: HyperVReplica) -> None:
    replicating(lab, pair)
    lab.host("hv01").vm("web").disks[0].write(8192, b"last write before failover")
    status = pair.planned_failover("web")
    assert (status.state, status.mode) == ("FailedOverWaitingCompletion", "Replica")
    assert lab.host("hv01").vm("web").state.name == "Off"
    assert replica_bytes(lab, "hv02") == replica_bytes(lab, "hv01")

    back = pair.reversed()
    back.configure_replica_server("E:\\Replica")  # the old primary must accept replicas
    reversed_status = pair.reverse("web")
    assert (reversed_status.mode, reversed_status.replica_server) == ("Primary", "hv01.srp.test")
    pair.start_vm("web", Side.REPLICA)
    assert lab.host("hv02").vm("web").state.name == "Running"
    assert back.status("web").state == "Replicating"
    assert back.status("web", Side.REPLICA).mode == "Replica"


def test_unplanned_failover_and_complete(lab: HyperVLab, pair: HyperVReplica) -> None:
    replicating(lab, pair, recovery_history=2)
    points = pair.recovery_points("web")
    assert [(p.vm_name, p.created_at) for p in points] == [("web", START + 1)]
    assert isinstance(points[0], ReplicaPoint)
    lab.host("hv01").crash()
    assert pair.unplanned_failover("web").state == "FailedOverWaitingCompletion"
    assert pair.complete("web").state == "FailedOver"
    assert pair.recovery_points("web") == ()


def test_cancel_failover_returns_to_replicating(lab: HyperVLab, pair: HyperVReplica) -> None:
    replicating(lab, pair)
    pair.unplanned_failover("web")
    assert pair.cancel_failover("web").state == "Replicating"


def test_refused_settings_name_host_and_command(lab: HyperVLab, pair: HyperVReplica) -> None:
    lab.host("hv01").create_vm("web")
    pair.configure_replica_server("D:\\Replica")
    with pytest.raises(RemoteCommandFailed) as caught:
        pair.enable("web", ReplicationSettings(pair.server_name(Side.REPLICA), frequency_sec=45))
    assert str(caught.value).startswith(
        f"{pair.primary.host}: Enable-VMReplication failed: Enable-VMReplication : Cannot "
        "validate argument on parameter 'ReplicationFrequencySec'."
    )
