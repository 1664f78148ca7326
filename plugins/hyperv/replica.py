"""Hyper-V Replica between two hosts, as a typed API over the Hyper-V cmdlets.

``HyperVReplica(primary, replica)`` drives a VM's native replication from
the primary host's client to the replica host's: configure the replica
server, enable replication, send the initial copy, read state and health,
and the failovers (test, planned, unplanned), completion and reverse
replication. Steps that change state are retried after a transient failure
only when a probe (``Get-VM``'s replication summary or power state) shows
the first attempt did not take effect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from plugins.hyperv import scripts
from plugins.hyperv.client import EffectCheck, HyperVClient
from plugins.hyperv.discovery import identify
from plugins.hyperv.records import Row, one_row, rows
from plugins.hyperv.scripts import FailoverStep, ReplicaAuthentication, ReplicationSettings


class Side(enum.StrEnum):
    """Which of the two hosts an operation addresses."""

    PRIMARY = "primary"
    REPLICA = "replica"


@dataclass(frozen=True)
class ReplicationStatus:
    """Get-VMReplication on one host: state, health and mode by their PowerShell names."""

    vm_name: str
    state: str
    health: str
    mode: str
    frequency_sec: int
    primary_server: str
    replica_server: str
    last_replication: float | None
    test_vm_name: str = ""


@dataclass(frozen=True)
class ReplicaPoint:
    """A recovery point a replica VM holds (a replica snapshot)."""

    name: str
    vm_name: str
    created_at: float | None


class HyperVReplica:
    """One VM relationship's operations across a primary and a replica host."""

    def __init__(
        self,
        primary: HyperVClient,
        replica: HyperVClient,
        *,
        primary_server: str = "",
        replica_server: str = "",
    ) -> None:
        self.primary = primary
        self.replica = replica
        self._servers = {Side.PRIMARY: primary_server, Side.REPLICA: replica_server}

    def server_name(self, side: Side) -> str:
        """The name the other host reaches this one by: given, else its FQDN from Get-VMHost."""
        if not self._servers[side]:
            self._servers[side] = identify(self._client(side)).server_id
        return self._servers[side]

    def reversed(self) -> HyperVReplica:
        """The same pair with the roles swapped (after reverse replication)."""
        return HyperVReplica(
            self.replica,
            self.primary,
            primary_server=self._servers[Side.REPLICA],
            replica_server=self._servers[Side.PRIMARY],
        )

    def _client(self, side: Side) -> HyperVClient:
        return self.primary if side is Side.PRIMARY else self.replica

    def configure_replica_server(
        self,
        storage_path: str,
        authentication: ReplicaAuthentication = ReplicaAuthentication.KERBEROS,
    ) -> None:
        """Let the replica host accept replicas from any server into ``storage_path``."""
        self.replica.query(scripts.set_replication_server(storage_path, authentication))

    def enable(
        self, vm_name: str, settings: ReplicationSettings | None = None
    ) -> ReplicationStatus:
        """Make ``vm_name`` on the primary replicate to the replica host."""
        chosen = settings or ReplicationSettings(self.server_name(Side.REPLICA))
        check = self._vm_check(vm_name, "ReplicationMode", "Primary")
        self.primary.act(scripts.enable_replication(vm_name, chosen), check)
        return self.status(vm_name)

    def start_initial_replication(self, vm_name: str) -> ReplicationStatus:
        """Send the initial copy over the network."""
        check = self._vm_check(
            vm_name,
            "ReplicationState",
            "InitialReplicationInProgress",
            "Replicating",
        )
        self.primary.act(scripts.start_initial_replication(vm_name), check)
        return self.status(vm_name)

    def status(self, vm_name: str, side: Side = Side.PRIMARY) -> ReplicationStatus:
        """Get-VMReplication for the VM on one host."""
        client = self._client(side)
        script = scripts.get_replication(vm_name)
        return _status(one_row(client.query(script), f"{client.host}: {script.command}"))

    def recovery_points(self, vm_name: str) -> tuple[ReplicaPoint, ...]:
        """The recovery points the replica holds, oldest first as Hyper-V lists them."""
        script = scripts.replica_snapshots(vm_name)
        found = rows(self.replica.query(script), f"{self.replica.host}: {script.command}")
        return tuple(
            ReplicaPoint(row.text("Name"), row.text("VMName"), row.date("CreationTime"))
            for row in found
        )

    def test_failover(self, vm_name: str) -> ReplicationStatus:
        """Start a test VM on the replica from the latest point; replication goes on."""
        self.replica.act(scripts.start_failover(vm_name, FailoverStep.TEST))
        return self.status(vm_name, Side.REPLICA)

    def cleanup_test_failover(self, vm_name: str) -> ReplicationStatus:
        """Remove the test VM (Stop-VMFailover on the replica)."""
        self.replica.act(scripts.stop_failover(vm_name))
        return self.status(vm_name, Side.REPLICA)

    def planned_failover(self, vm_name: str) -> ReplicationStatus:
        """Shut the primary down, send its last changes (-Prepare), fail over on the replica."""
        off = self._vm_check(vm_name, "State", "Off")
        self.primary.act(scripts.stop_vm(vm_name), off)
        prepared = self._vm_check(vm_name, "ReplicationState", "PreparedForFailover")
        self.primary.act(scripts.start_failover(vm_name, FailoverStep.PREPARE), prepared)
        return self._fail_over(vm_name)

    def unplanned_failover(self, vm_name: str) -> ReplicationStatus:
        """Fail over on the replica without the primary (it may be down)."""
        return self._fail_over(vm_name)

    def _fail_over(self, vm_name: str) -> ReplicationStatus:
        check = self._vm_check(
            vm_name, "ReplicationState", "FailedOverWaitingCompletion", "FailedOver"
        )
        self.replica.act(scripts.start_failover(vm_name, FailoverStep.FAILOVER), check)
        return self.status(vm_name, Side.REPLICA)

    def complete(self, vm_name: str) -> ReplicationStatus:
        """Make the failover final on the replica (other recovery points are discarded)."""
        check = self._vm_check(vm_name, "ReplicationState", "FailedOver")
        self.replica.act(scripts.complete_failover(vm_name), check)
        return self.status(vm_name, Side.REPLICA)

    def cancel_failover(self, vm_name: str) -> ReplicationStatus:
        """Undo a failover that was not completed (Stop-VMFailover on the replica)."""
        self.replica.act(scripts.stop_failover(vm_name))
        return self.status(vm_name, Side.REPLICA)

    def reverse(self, vm_name: str) -> ReplicationStatus:
        """Make the failed-over replica the primary, replicating back to the old primary."""
        check = self._vm_check(vm_name, "ReplicationMode", "Primary")
        script = scripts.reverse_replication(vm_name, self.server_name(Side.PRIMARY))
        self.replica.act(script, check)
        return self.status(vm_name, Side.REPLICA)

    def start_vm(self, vm_name: str, side: Side = Side.REPLICA) -> None:
        """Start the VM on one host."""
        check = self._vm_check(vm_name, "State", "Running")
        self._client(side).act(scripts.start_vm(vm_name), check)

    def stop_vm(self, vm_name: str, side: Side = Side.PRIMARY) -> None:
        """Shut the VM down cleanly on one host."""
        check = self._vm_check(vm_name, "State", "Off")
        self._client(side).act(scripts.stop_vm(vm_name), check)

    def turn_off(self, vm_name: str, side: Side = Side.PRIMARY) -> None:
        """Power the VM off without a guest shutdown (a stale VM about to be overwritten)."""
        check = self._vm_check(vm_name, "State", "Off")
        self._client(side).act(scripts.turn_off_vm(vm_name), check)

    @staticmethod
    def _vm_check(vm_name: str, field: str, *values: str) -> EffectCheck:
        """Probe the VM on the host that runs the action: did ``field`` reach a value?"""
        return EffectCheck.field_is(scripts.get_vm(vm_name), field, *values)


def _status(row: Row) -> ReplicationStatus:
    return ReplicationStatus(
        vm_name=row.text("VMName"),
        state=row.text("State"),
        health=row.optional_text("Health"),
        mode=row.optional_text("Mode"),
        frequency_sec=row.integer("FrequencySec", 0),
        primary_server=row.optional_text("PrimaryServer"),
        replica_server=row.optional_text("ReplicaServer"),
        last_replication=row.date("LastReplicationTime"),
        test_vm_name=row.optional_text("TestVirtualMachineName"),
    )
