"""A simulated InMage Scout deployment: the configuration server's state and its rules.

The configuration server (CX, on the secondary site) knows every component:
process servers, master targets and the source machines whose unified
agents reported in (VMware VMs of a fake vCenter, physical servers). It
keeps protection plans (a replication group: every host of a plan shares
consistency tags), drives replication when the test calls
:meth:`ScoutDeployment.replicate`, issues consistency tags across a plan's
hosts (:meth:`ScoutDeployment.issue_tag`), and performs rollbacks and
resyncs. Everything is deterministic under a seed and a virtual clock.

What srp's InMage path needs beyond that, as this simulation models it
(Scout's own names where it has them, our choice where the API is private):

* test failover is a rollback to a *virtual snapshot* (Scout's vsnap):
  ``CreateRollback`` with ``RollbackType=Test`` makes a copy of each host at
  its point in :attr:`ScoutDeployment.test_copies` (its NICs on
  ``TestNetwork``) and leaves the plan replicating;
  ``DeleteVirtualSnapshots`` removes the copies of the hosts it names;
* ``CreateProtectionV2`` naming an existing plan adds the hosts to it;
* failback protection is ``CreateProtectionV2`` of the recovered machines
  toward a master target on the original site: the replica is seeded with
  the original VM's disks and the first copy sends only the blocks that
  differ (the original VM is powered off while its master target owns its
  disks). A physical original is refused: Scout fails back to VMware only;
* ``PrepareFailback`` shuts the named recovered machines down, issues a
  final tag across them and flushes their last changes toward the master
  target (what cannot land stays cached: nothing is lost); a rollback of
  the failback plan to that tag writes every byte into the original VM and
  powers it on; ``ListRollbacks`` names a plan's rollbacks, newest last;
* protecting the original again toward the secondary site reuses the
  recovered machine's disks as the seed (only differing blocks travel) and
  retires the recovered machine;
* ``CreateRollback`` takes an optional ``Nics`` group (``NicId``,
  ``Network``): the recovered machine's NICs join those networks.

Failures the CX API reports are :class:`CxError`\\ s with the API's return
code (see :mod:`fakes.inmage.codes`).
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.inmage import codes
from fakes.inmage.agent import NOT_GUARANTEED, HostBatch, SourceHost, Tag
from fakes.inmage.components import (
    ComponentDown,
    MasterTarget,
    OutOfRetentionSpace,
    ProcessServer,
    ReplicaSet,
)
from fakes.mobility import PhysicalServer
from fakes.vcenter import VCenter, VirtualMachine
from fakes.vcenter.model import POWERED_OFF, POWERED_ON

RESYNC, DIFFERENTIAL, ROLLED_BACK = "Resync Step I", "Differential Sync", "Rolled Back"
OK, WARNING, CRITICAL = "OK", "Warning", "Critical"
LATEST_TAG, LATEST_TIME, MULTI_VM_LATEST_TAG, CUSTOM = (
    "LatestTag",
    "LatestTime",
    "MultiVMLatestTag",
    "Custom",
)


class CxError(Exception):
    """A refusal of the CX: ``code`` is the API's return code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class CxFaults:
    """Fault switches of the CX itself.

    ``hostile_response``: answer every call with an ``"entity-expansion"``
    or an ``"external-entity"`` payload (a compromised or spoofed CX).
    """

    hostile_response: str = ""
    #: Functions answered with HTTP 503, never run (the CX unreachable for them).
    unavailable: set[str] = field(default_factory=set)


@dataclass
class Pair:
    """One host of a plan replicating through a process server to a master target."""

    host: SourceHost
    process_server: ProcessServer
    master_target: MasterTarget
    replica: ReplicaSet
    state: str = RESYNC
    health: str = OK
    reason: str = ""


@dataclass
class ProtectionPlan:
    plan_id: str
    name: str
    pairs: dict[str, Pair]
    consistency_minutes: int = 0


@dataclass(frozen=True)
class RecoveredHost:
    """The outcome of a rollback for one host."""

    host_id: str
    status: str
    tag_name: str
    tag_time: float
    recovered_host_id: str
    disk_digests: tuple[tuple[str, str], ...]


@dataclass
class Rollback:
    rollback_id: str
    plan_id: str
    plan_name: str = ""
    test: bool = False
    hosts: list[RecoveredHost] = field(default_factory=list)
    status: str = "Completed"


@dataclass(frozen=True)
class Event:
    time: float
    severity: str
    host_id: str
    message: str


@dataclass(frozen=True)
class Chosen:
    sequence: int
    name: str
    time: float


class ScoutDeployment:
    """The configuration server's view of one Scout deployment."""

    def __init__(
        self,
        *,
        passphrase: str = "Scout-Passphrase-1",
        clock: VirtualClock | None = None,
        seed: int = 0,
        name: str = "cs01.dr.lab",
        version: str = "9.55.1.0",
    ) -> None:
        self.passphrase, self.name, self.version = passphrase, name, version
        self.clock = clock or VirtualClock()
        self.faults = CxFaults()
        self._random = random.Random(seed)
        self.host_id = self.new_id()
        self.hosts: dict[str, SourceHost] = {}
        self.process_servers: dict[str, ProcessServer] = {}
        self.master_targets: dict[str, MasterTarget] = {}
        self.vcenters: list[VCenter] = []
        self.plans: dict[str, ProtectionPlan] = {}
        self.rollbacks: dict[str, Rollback] = {}
        #: Virtual-snapshot copies made by test rollbacks, by their host id.
        self.test_copies: dict[str, SourceHost] = {}
        self.requests: dict[str, tuple[str, str, str]] = {}
        self.events: list[Event] = []
        self.lock = threading.RLock()
        self._vms: dict[str, VirtualMachine] = {}
        self._counter = 0

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4)).upper()

    def next_number(self) -> int:
        self._counter += 1
        return self._counter

    # -- components -------------------------------------------------------------------

    def add_process_server(self, name: str, site: str = "primary") -> ProcessServer:
        server = ProcessServer(self.new_id(), name, site)
        self.process_servers[server.host_id] = server
        return server

    def add_master_target(
        self, name: str, site: str = "secondary", retention_space: int = 1 << 30
    ) -> MasterTarget:
        target = MasterTarget(self.new_id(), name, site, retention_space)
        self.master_targets[target.host_id] = target
        return target

    def add_vcenter(self, vcenter: VCenter) -> list[SourceHost]:
        """Push unified agents onto every VM of a vCenter (the process server's push install)."""
        self.vcenters.append(vcenter)
        return [self._add_vm(vcenter, vm) for vm in vcenter.live_vms()]

    def _add_vm(self, vcenter: VCenter, vm: VirtualMachine) -> SourceHost:
        nics = [(f"nic-{n.key}", n.mac, "", n.network.name) for n in vm.nics]
        host = SourceHost(
            self.new_id(),
            vm.name,
            "VMware",
            vm.virtual_disks,
            nics,
            os_type="Windows" if vm.guest_os.startswith("WINDOWS") else "Linux",
            cpu_count=vm.cpu_count,
            memory_mib=vm.memory_mib,
            vm_id=vm.moid,
            vcenter=vcenter.name,
            datacenter=vm.datacenter.name,
            powered_on=vm.power_state == POWERED_ON,
        )
        self._vms[host.host_id] = vm
        self.hosts[host.host_id] = host
        return host

    def add_physical(self, server: PhysicalServer) -> SourceHost:
        """A physical server with the unified agent installed."""
        nics = [(n.nic_id, n.mac, ",".join(n.ip_addresses), n.network) for n in server.nics]
        host = SourceHost(
            self.new_id(),
            server.hostname,
            "Physical",
            server.disks,
            nics,
            os_type="Windows" if server.os.startswith("Windows") else "Linux",
            cpu_count=server.cpu_count,
            memory_mib=server.memory_mib,
        )
        self.hosts[host.host_id] = host
        return host

    def host(self, host_id: str) -> SourceHost:
        found = self.hosts.get(host_id)
        if found is None:
            raise CxError(codes.NOT_FOUND, f"Host '{host_id}' is not registered with the CX.")
        return found

    def host_named(self, name: str) -> SourceHost:
        for host in self.hosts.values():
            if host.name == name:
                return host
        raise KeyError(name)

    def plan(self, plan_id: str) -> ProtectionPlan:
        found = self.plans.get(plan_id)
        if found is None:
            raise CxError(codes.NOT_FOUND, f"Protection plan '{plan_id}' does not exist.")
        return found

    def plan_named(self, name: str) -> ProtectionPlan:
        for plan in self.plans.values():
            if plan.name == name:
                return plan
        raise CxError(codes.NOT_FOUND, f"Protection plan '{name}' does not exist.")

    def event(self, severity: str, host_id: str, message: str) -> None:
        self.events.append(Event(self.clock.now(), severity, host_id, message))

    def record_request(self, function: str, status: str = "Completed", message: str = "") -> str:
        request_id = str(self.next_number())
        self.requests[request_id] = (function, status, message)
        return request_id

    # -- protection -------------------------------------------------------------------

    def protect(
        self,
        name: str,
        host_ids: Iterable[str],
        process_server_id: str,
        master_target_id: str,
        retention_hours: int,
        consistency_minutes: int = 0,
    ) -> ProtectionPlan:
        """Create a protection plan; every check passes before anything changes."""
        with self.lock:
            hosts = [self.host(h) for h in host_ids]
            ps, mt = self._components(process_server_id, master_target_id)
            self._check_free(hosts, mt)
            existing = next((p for p in self.plans.values() if p.name == name), None)
            pairs = {h.host_id: self._pair(h, ps, mt, retention_hours) for h in hosts}
            if existing is not None:  # Scout's "add servers" to a plan
                existing.pairs.update(pairs)
                return existing
            plan = ProtectionPlan(f"PLAN-{self.next_number()}", name, pairs, consistency_minutes)
            self.plans[plan.plan_id] = plan
            return plan

    def _components(self, ps_id: str, mt_id: str) -> tuple[ProcessServer, MasterTarget]:
        ps, mt = self.process_servers.get(ps_id), self.master_targets.get(mt_id)
        if ps is None:
            raise CxError(codes.NOT_FOUND, f"Process server '{ps_id}' is not registered.")
        if mt is None:
            raise CxError(codes.NOT_FOUND, f"Master target '{mt_id}' is not registered.")
        return ps, mt

    def _check_free(self, hosts: list[SourceHost], mt: MasterTarget) -> None:
        for host in hosts:
            original = self.hosts.get(host.failback_of)
            if original is not None and original.site == mt.site and original.kind != "VMware":
                raise CxError(
                    codes.NOT_ALLOWED,
                    f"Failback to physical server '{original.name}' is not supported; "
                    "fail back to a VMware VM.",
                )
            if self.pair_of(host.host_id) is not None:
                raise CxError(codes.NOT_ALLOWED, f"Host '{host.name}' is already protected.")
            if host.site == mt.site:
                raise CxError(
                    codes.NOT_ALLOWED,
                    f"Master target '{mt.name}' is on the same site as host '{host.name}'.",
                )

    def _pair(self, host: SourceHost, ps: ProcessServer, mt: MasterTarget, hours: int) -> Pair:
        seed = self._seed_for(host, mt)
        replica = mt.attach(
            host.host_id, {d.disk_id: d.capacity for d in host.disks}, hours * 3600.0, seed
        )
        host.agent.start(seed)
        self.event(OK, host.host_id, f"Protection of {host.name} started (resync step I).")
        return Pair(host, ps, mt, replica)

    def _seed_for(self, host: SourceHost, mt: MasterTarget) -> dict[str, VirtualDisk]:
        """The disks the master target's site already holds for this host (see above)."""
        if host.failback_of:
            other = self.hosts.get(host.failback_of)
        else:
            other = next((h for h in self.hosts.values() if h.failback_of == host.host_id), None)
        if other is None or other.site != mt.site:
            return {}
        if host.failback_of:
            self.power_off_source(other.host_id)  # its master target owns its disks now
        else:
            del self.hosts[other.host_id]  # its disks become the replica: it retires
        return {disk.disk_id: disk for disk in other.disks}

    def pair_of(self, host_id: str) -> Pair | None:
        for plan in self.plans.values():
            if host_id in plan.pairs:
                return plan.pairs[host_id]
        return None

    def stop(self, plan_id: str, host_ids: Iterable[str] = ()) -> None:
        """Stop protecting hosts of a plan (all of them by default)."""
        with self.lock:
            plan = self.plan(plan_id)
            for host_id in list(host_ids) or list(plan.pairs):
                pair = plan.pairs.pop(host_id, None)
                if pair is None:
                    raise CxError(codes.NOT_FOUND, f"Host '{host_id}' is not in plan {plan_id}.")
                self._unpair(pair)
            if not plan.pairs:
                del self.plans[plan_id]

    def _unpair(self, pair: Pair) -> None:
        pair.host.agent.stop()
        pair.process_server.drop(pair.host.host_id)
        pair.master_target.detach(pair.host.host_id)
        self.event(OK, pair.host.host_id, f"Protection of {pair.host.name} stopped.")

    def restart_resync(self, plan_id: str, host_ids: Iterable[str] = ()) -> None:
        with self.lock:
            plan = self.plan(plan_id)
            for host_id in list(host_ids) or list(plan.pairs):
                pair = plan.pairs.get(host_id)
                if pair is None:
                    raise CxError(codes.NOT_FOUND, f"Host '{host_id}' is not in plan {plan_id}.")
                pair.host.agent.restart_resync()
                pair.process_server.drop(host_id)
                pair.state = RESYNC
                self.event(WARNING, host_id, f"Resync of {pair.host.name} restarted.")

    # -- replication ------------------------------------------------------------------

    def replicate(self) -> None:
        """One round: agents cut, process servers take and forward to master targets."""
        with self.lock:
            for plan in self.plans.values():
                for pair in plan.pairs.values():
                    pair.host.agent.capture(self.clock.now())
                    self._move(pair)

    def issue_tag(self, plan: str, name: str, level: str) -> Tag:
        """A consistency tag across every host of a plan (id or name), at one instant.

        It is what the agents' consistency tool does on the sources: one tag
        in every host's write stream at the same instant, a multi-VM point.
        """
        with self.lock:
            found = self.plans.get(plan) or self.plan_named(plan)
            return self._tag_pairs(list(found.pairs.values()), name, level)

    def _tag_pairs(self, pairs: list[Pair], name: str, level: str) -> Tag:
        tag = Tag(name, level, self.clock.now())
        for pair in pairs:
            # Before the full copy lands, the replica at this tag is not consistent.
            accuracy = tag.accuracy if pair.replica.synced else NOT_GUARANTEED
            pair.host.agent.capture(tag.issued_at, (Tag(name, level, tag.issued_at, accuracy),))
        return tag

    def _move(self, pair: Pair) -> None:
        agent, ps, mt = pair.host.agent, pair.process_server, pair.master_target
        batches = agent.take()
        try:
            if batches:
                ps.receive(batches)
        except ComponentDown as exc:
            agent.give_back(batches)  # still on the source: nothing is lost
            self._trouble(pair, f"ProcessServerUnreachable: {exc}")
            return
        try:
            ps.forward(pair.host.host_id, lambda batch: self._apply(mt, batch))
        except ComponentDown as exc:
            self._trouble(pair, f"ProcessServerUnreachable: {exc}")
        except OutOfRetentionSpace as exc:
            self._trouble(pair, f"RetentionSpaceFull: {exc}")
        else:
            self._healthy(pair)

    def _apply(self, mt: MasterTarget, batch: HostBatch) -> None:
        mt.apply(batch, self.clock.now())

    def _trouble(self, pair: Pair, reason: str) -> None:
        if pair.reason != reason:
            self.event(CRITICAL, pair.host.host_id, reason)
        pair.health, pair.reason = CRITICAL, reason

    def _healthy(self, pair: Pair) -> None:
        if pair.reason:
            self.event(OK, pair.host.host_id, f"Replication of {pair.host.name} resumed.")
        pair.health, pair.reason = OK, ""
        if pair.replica.synced and pair.state == RESYNC and not pair.host.agent.pending_bytes:
            pair.state = DIFFERENTIAL

    # -- recovery ---------------------------------------------------------------------

    def tags_of(self, pair: Pair) -> list[tuple[int, Tag]]:
        """Every retained tag of a pair, oldest first, with the batch that carried it."""
        return [(entry.sequence, tag) for entry in pair.replica.journal for tag in entry.tags]

    def rollback(
        self,
        plan_id: str,
        host_ids: list[str],
        point_type: str,
        tag_name: str = "",
        networks: dict[str, str] | None = None,
    ) -> Rollback:
        """Recover hosts at one point each; every check passes before any host recovers.

        ``networks`` (NIC id -> network): where the recovered NICs connect;
        when given it must name every NIC of every host.
        """
        with self.lock:
            plan = self.plan(plan_id)
            pairs = [self._pair_in(plan, h) for h in host_ids or list(plan.pairs)]
            chosen = self._choose(pairs, point_type, tag_name)
            if networks:
                self._check_networks(pairs, networks)
            rollback = Rollback(f"RB-{self.next_number()}", plan_id, plan.name)
            for pair, point in zip(pairs, chosen, strict=True):
                rollback.hosts.append(self._recover(pair, point, networks or {}))
                plan.pairs.pop(pair.host.host_id)
                self._unpair(pair)
            if not plan.pairs:
                del self.plans[plan_id]
            self.rollbacks[rollback.rollback_id] = rollback
            return rollback

    def _check_networks(self, pairs: list[Pair], networks: dict[str, str]) -> None:
        for pair in pairs:
            for nic_id, _, _, network in pair.host.nics:
                if nic_id not in networks:
                    raise CxError(
                        codes.NOT_ALLOWED,
                        f"NIC '{nic_id}' of host '{pair.host.name}' (network '{network}') "
                        "has no network on the recovery site.",
                    )

    def test_rollback(
        self, plan_id: str, host_ids: list[str], point_type: str, tag_name: str, network: str
    ) -> Rollback:
        """Virtual-snapshot copies of hosts at their points, NICs on ``network``; plans go on."""
        with self.lock:
            plan = self.plan(plan_id)
            pairs = [self._pair_in(plan, h) for h in host_ids or list(plan.pairs)]
            chosen = self._choose(pairs, point_type, tag_name)
            rollback = Rollback(f"RB-{self.next_number()}", plan_id, plan.name, test=True)
            for pair, point in zip(pairs, chosen, strict=True):
                rollback.hosts.append(self._test_copy(pair, point, network))
            self.rollbacks[rollback.rollback_id] = rollback
            return rollback

    def _test_copy(self, pair: Pair, point: Chosen, network: str) -> RecoveredHost:
        source, disks = pair.host, pair.replica.materialise(point.sequence)
        copy = SourceHost(
            self.new_id(),
            f"{source.name}-test",
            "VMware",
            [disks[d.disk_id] for d in source.disks],
            [(nic, mac, ip, network) for nic, mac, ip, _ in source.nics],
            os_type=source.os_type,
            cpu_count=source.cpu_count,
            memory_mib=source.memory_mib,
            site=pair.master_target.site,
            test_of=source.host_id,
        )
        self.test_copies[copy.host_id] = copy
        digests = tuple((disk.disk_id, disk.digest().hex()) for disk in copy.disks)
        self.event(OK, source.host_id, f"Test copy of {source.name} at {point.name} is up.")
        return RecoveredHost(
            source.host_id, "Completed", point.name, point.time, copy.host_id, digests
        )

    def delete_test_copies(self, host_ids: list[str]) -> list[str]:
        """Remove the virtual-snapshot copies of these hosts; the ids removed (none: a no-op)."""
        with self.lock:
            removed = [c for c, copy in self.test_copies.items() if copy.test_of in host_ids]
            for copy_id in removed:
                for disk in self.test_copies.pop(copy_id).disks:
                    disk.close()
            return removed

    def prepare_failback(self, plan_id: str, host_ids: list[str]) -> Tag:
        """Shut recovered hosts down, tag their last writes and flush them to the master target."""
        with self.lock:
            plan = self.plan(plan_id)
            pairs = [self._pair_in(plan, h) for h in host_ids or list(plan.pairs)]
            for pair in pairs:
                pair.host.powered_on = False
            tag = self._tag_pairs(pairs, f"failback-{self.next_number()}", "Application")
            for pair in pairs:
                self._move(pair)
            return tag

    def rollbacks_of(self, plan_name: str) -> list[Rollback]:
        """The rollbacks of a plan (by name, even once it is gone), oldest first."""
        return [r for r in self.rollbacks.values() if r.plan_name == plan_name]

    def _pair_in(self, plan: ProtectionPlan, host_id: str) -> Pair:
        pair = plan.pairs.get(host_id)
        if pair is None:
            raise CxError(codes.NOT_FOUND, f"Host '{host_id}' is not in plan {plan.plan_id}.")
        return pair

    def _choose(self, pairs: list[Pair], point_type: str, tag_name: str) -> list[Chosen]:
        if point_type == LATEST_TIME:
            return [self._latest_time(p) for p in pairs]
        if point_type == LATEST_TAG:
            return [self._tagged(p, self._usable(p)[-1:], "no consistency tag") for p in pairs]
        if point_type == MULTI_VM_LATEST_TAG:
            tag_name = self._common_tag(pairs)
        elif point_type != CUSTOM or not tag_name:
            raise CxError(codes.BAD_PARAMETER, f"Unknown recovery point type '{point_type}'.")
        return [
            self._tagged(p, [t for t in self._usable(p) if t[1].name == tag_name], tag_name)
            for p in pairs
        ]

    def _usable(self, pair: Pair) -> list[tuple[int, Tag]]:
        return [(s, t) for s, t in self.tags_of(pair) if t.accuracy != NOT_GUARANTEED]

    def _latest_time(self, pair: Pair) -> Chosen:
        if not pair.replica.synced:
            raise CxError(codes.NOT_ALLOWED, f"Host '{pair.host.name}' has no consistent data yet.")
        last = pair.replica.journal[-1]
        return Chosen(last.sequence, LATEST_TIME, last.taken_at)

    def _tagged(self, pair: Pair, found: list[tuple[int, Tag]], wanted: str) -> Chosen:
        if not found:
            raise CxError(
                codes.NOT_FOUND, f"Host '{pair.host.name}' holds no usable tag ({wanted})."
            )
        sequence, tag = found[-1]
        return Chosen(sequence, tag.name, tag.issued_at)

    def _common_tag(self, pairs: list[Pair]) -> str:
        names = [[t.name for _, t in self._usable(p)] for p in pairs]
        common = [n for n in names[0] if all(n in other for other in names[1:])]
        if not common:
            raise CxError(codes.NOT_FOUND, "The hosts share no usable consistency tag.")
        return common[-1]

    def _recover(self, pair: Pair, point: Chosen, networks: dict[str, str]) -> RecoveredHost:
        disks = pair.replica.materialise(point.sequence)
        source = pair.host
        if source.failback_of:
            target_id = self._fail_back(source, disks)
        else:
            site = pair.master_target.site
            target_id = self._recover_on_secondary(source, disks, site, networks)
        recovered = self.hosts[target_id]
        digests = tuple((disk.disk_id, disk.digest().hex()) for disk in recovered.disks)
        self.event(OK, source.host_id, f"{source.name} rolled back to {point.name}.")
        return RecoveredHost(
            source.host_id, "Completed", point.name, point.time, target_id, digests
        )

    def _recover_on_secondary(
        self, source: SourceHost, disks: dict[str, VirtualDisk], site: str, networks: dict[str, str]
    ) -> str:
        # The recovered machine is a VM on the recovery site, its agent ready for failback.
        ordered = [disks[d.disk_id] for d in source.disks]
        replica = SourceHost(
            self.new_id(),
            source.name,
            "VMware",
            ordered,
            [(nic, mac, ip, networks.get(nic, net)) for nic, mac, ip, net in source.nics],
            os_type=source.os_type,
            cpu_count=source.cpu_count,
            memory_mib=source.memory_mib,
            site=site,
            failback_of=source.host_id,
        )
        self.hosts[replica.host_id] = replica
        return replica.host_id

    def _fail_back(self, replica: SourceHost, disks: dict[str, VirtualDisk]) -> str:
        original = self.host(replica.failback_of)
        if original.kind != "VMware":
            raise CxError(
                codes.NOT_ALLOWED,
                f"Failback to physical server '{original.name}' is not supported; "
                "fail back to a VMware VM.",
            )
        for target in original.disks:
            source = disks[target.disk_id]
            target.write(0, source.read(0, source.capacity))
        vm = self._vms.get(original.host_id)
        if vm is not None:
            vm.power_state = POWERED_ON
        original.powered_on, replica.powered_on = True, False
        return original.host_id

    def power_off_source(self, host_id: str) -> None:
        """The primary site is lost (or shut down for failback): the source stops."""
        host = self.host(host_id)
        host.powered_on = False
        vm = self._vms.get(host_id)
        if vm is not None:
            vm.power_state = POWERED_OFF
