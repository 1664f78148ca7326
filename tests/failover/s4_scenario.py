"""Scenario S4 in the failover suite: web01 replicated natively by Hyper-V Replica.

Import as ``tests.failover.s4_scenario``.

``hyperv-replica``: host ``hv01`` (site Primary) is a registered ``hyperv``
fabric; host ``hv11`` (site Recovery, a Replica server) is the
``hyperv-replica`` target. Both are served over loopback WinRM and reached
by the real hyperv plugin. ``hv11`` has the suite's recovery networks as
switches: ``vnet-prod`` (external) and ``vnet-test`` (private, the drills'
isolated network); a switch id is an opaque string to srp, so the lab's
switches take the ids the suite names, as S1 does for ``net-prod``.

``vmm-replica``: the same between two VMM clouds
(:func:`fakes.vmm.samples.build_replica_lab`): ``vmm01`` manages ``hv01``
(cloud Gold) and is a registered ``vmm`` fabric; ``vmm02`` with cloud DR is
the ``vmm-replica`` target, which places the replica on ``hv12`` (the
cloud's host running the fewest VMs). The lab's web01 is replaced by the
suite's (disks, patterns, NIC); the VM networks take the ids the suite
names, as the switches do above: vmm01's Corp-VMs is ``net-prod``, vmm02's
DR-VMs ``vnet-prod`` and Drill (private switches only: isolated)
``vnet-test``.

The Hyper-V VM helpers (:class:`HyperVSource`, :func:`hyperv_vm`) also serve
S1's ``hyperv`` scenario in the conftest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import plugins.hyperv.plugin as hyperv_plugin
import plugins.vmm.plugin as vmm_plugin
from fakes.clock import VirtualClock
from fakes.hyperv import HyperVHost, HyperVLab, VirtualMachine, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.hyperv.enums import SwitchType
from fakes.hyperv.replica_server import ReplicationServerSettings
from fakes.vmm import VmmLab
from fakes.vmm import start_winrm_lab as start_vmm_lab
from fakes.vmm.samples import build_replica_lab
from fakes.winrm.server import WinRMServer
from fakes.workload import write_pattern
from provider.contracts.connection import FabricConnection, Secret
from provider.native import NativeProtectRequest, protect_native
from provider.store.targets import Target
from provider.vault.sealed import SealedSecrets
from tests.failover.failover_testkit import DISK_SIZES, KIB, SOURCE_IP, FailoverLab, Protected

#: The source network id the suite's assertions name.
SOURCE_NETWORK = "net-prod"
#: The recovery site's production and isolated networks, as the suite names them.
RECOVERY_NETWORK, ISOLATED_NETWORK = "vnet-prod", "vnet-test"
#: The replication group the scenarios protect web01 in, and its cycle (Hyper-V's shortest).
GROUP = "web"
FREQUENCY_SEC = 30
PRIMARY, RECOVERY = "hv01", "hv11"
Options = tuple[tuple[str, str], ...]
#: Quick retries: a host that is down answers within a test, not after seconds of backoff.
WINRM_OPTIONS = (("transport", "basic"), ("retry_wait", "0"))


@dataclass(frozen=True)
class AddedVm:
    """A VM added to the host during a test, as the suite refers to it."""

    machine_id: str


@dataclass
class HyperVHostAsFabric:
    """The host as the suite's ``source.fabric``: where another machine can be added."""

    host: HyperVHost
    switch: str = "LAN"

    def add_machine(self, name: str, disks: list[int]) -> AddedVm:
        vm = self.host.create_vm(name, disks=disks, switch=self.switch, running=True)
        return AddedVm(vm.vm_id)


@dataclass
class HyperVSource:
    """A VM of a simulated Hyper-V host as the suite sees it.

    Cutting the source off is a site outage: the host loses power (its VMs
    are off and change tracking must resynchronize) and stops answering
    WinRM until it is brought back.
    """

    vm: VirtualMachine
    server: WinRMServer
    fabric: HyperVHostAsFabric
    machine_id: str = ""
    name: str = ""

    def __post_init__(self) -> None:
        self.machine_id, self.name = self.vm.vm_id, self.vm.name

    @property
    def nic_id(self) -> str:
        return f"{self.vm.vm_id}-nic0"  # the id's last part (see hyperv_vm)

    @property
    def ip_address(self) -> str:
        return SOURCE_IP

    def content(self) -> dict[str, bytes]:
        return {disk.disk_id.lower(): disk.read(0, disk.capacity) for disk in self.vm.disks}

    def write(self, disk_id: str, offset: int, data: bytes) -> None:
        disk = next(d for d in self.vm.disks if d.disk_id.lower() == disk_id)
        disk.write(offset, data)

    def set_reachable(self, reachable: bool) -> None:
        if reachable:
            self.server.faults.reset()
            return
        self.vm.host.crash()
        self.server.faults.drop_next(1_000_000)

    @property
    def power_state(self) -> str:
        return self.vm.state.name.lower()


def hyperv_vm(host: HyperVHost, switch: str = "LAN") -> VirtualMachine:
    """web01 with the suite's two disks and patterns, one NIC on the mapped network."""
    vm = host.create_vm("web01", disks=DISK_SIZES, switch=switch, running=True)
    for index, disk in enumerate(vm.disks):
        write_pattern(disk, 0, 64 * KIB, seed=index)
        write_pattern(disk, disk.capacity - 8 * KIB, 8 * KIB, seed=100 + index)
    # Adapter ids are opaque ``Microsoft:<vm>\<nic>`` strings and IPs what the guest
    # reports: the suite's assertions name the NIC ``<machine id>-nic0`` at SOURCE_IP.
    adapter = vm.adapters[0]
    adapter.adapter_id = f"Microsoft:{vm.vm_id.upper()}\\{vm.vm_id}-nic0"
    adapter.ip_addresses = (SOURCE_IP,)
    return vm


@dataclass
class HyperVReplicaSide:
    """:class:`tests.failover.failover_testkit.NativeSide` over the recovery host.

    Hyper-V Replica replicates on the lab's clock: a round is one replication
    period. A replica VM keeps its primary's id, so recovered machines are
    looked up on the recovery host only; their disks answer under the
    source's disk ids, in drive order.
    """

    lab: HyperVLab
    source: VirtualMachine
    recovery: HyperVHost
    group_id: str = GROUP

    def replicate(self) -> None:
        self.lab.clock.advance(FREQUENCY_SEC)

    def replica_content(self, replica_id: str) -> dict[str, bytes]:
        disks = self._vm(replica_id).disks
        return {
            source_id: disk.read(0, disk.capacity)
            for source_id, disk in zip(self._disk_ids(), disks, strict=True)
        }

    def write_replica(self, replica_id: str, disk_id: str, offset: int, data: bytes) -> None:
        self._vm(replica_id).disks[self._disk_ids().index(disk_id)].write(offset, data)

    def holds(self, replica_id: str) -> bool:
        return self.recovery.vm_by_id(replica_id) is not None

    def switches_of(self, replica_id: str) -> list[str | None]:
        """The switch each adapter of a recovered machine is connected to, by switch id."""
        ids = {switch.name: str(switch.id) for switch in self.recovery.switches}
        return [ids.get(a.switch_name or "") for a in self._vm(replica_id).adapters]

    def _vm(self, replica_id: str) -> VirtualMachine:
        found = self.recovery.vm_by_id(replica_id)
        assert found is not None, f"{self.recovery.name} has no VM {replica_id}"
        return found

    def _disk_ids(self) -> list[str]:
        return [disk.disk_id.lower() for disk in self.source.disks]


def recovery_switches(host: HyperVHost) -> None:
    """The suite's recovery networks as switches: production (external) and isolated (private)."""
    host.add_switch("DR-LAN").id = RECOVERY_NETWORK  # type: ignore[assignment]
    host.add_switch("Isolated", SwitchType.Private).id = ISOLATED_NETWORK  # type: ignore[assignment]


def replica_lab(clock: VirtualClock) -> HyperVLab:
    """hv01 (web01 on switch ``net-prod``) and hv11, a Replica server with the recovery switches."""
    lab = HyperVLab(seed=41, clock=clock)
    primary = lab.add_site("Primary").add_host(PRIMARY)
    primary.add_switch("LAN").id = SOURCE_NETWORK  # type: ignore[assignment]
    hyperv_vm(primary)
    recovery = lab.add_site("Recovery").add_host(RECOVERY)
    recovery.replication_server = ReplicationServerSettings(
        enabled=True, allowed_from_any_server=True
    )
    recovery_switches(recovery)
    return lab


def add_target(lab: FailoverLab, kind: str, address: str, password: str, options: Options) -> str:
    """Store the native target as registration does; the suite maps toward ``lab.target_id``."""
    target = Target(f"tgt-{uuid.uuid4().hex[:8]}", kind, address, options)
    with lab.store.unit() as tx:
        SealedSecrets(lab.vault.box).add_target(tx, target, Secret(password))
    lab.target_id = target.target_id
    return target.target_id


def protect_web01(lab: FailoverLab, fabric_id: str, machine_id: str, options: Options) -> str:
    """web01 protected natively in :data:`GROUP`, replicating every :data:`FREQUENCY_SEC`."""
    lab.add_policy("replica", copy_frequency_sec=FREQUENCY_SEC, retention_hours=4)
    wanted = (*options, ("frequency_sec", str(FREQUENCY_SEC)))
    request = NativeProtectRequest(
        fabric_id, (machine_id,), "replica", lab.target_id, GROUP, options=wanted
    )
    (item,) = protect_native(lab.ctx, request)
    return item.item_id


def _drop_clients(plugin: object, *owners: str) -> None:
    # The plugins pool clients per fabric or target id: none may outlive its scenario.
    clients = plugin.CLIENTS  # type: ignore[attr-defined]
    for owner in owners:
        clients.drop(FabricConnection(owner, "hyperv", "-"))


@contextmanager
def hyperv_replica_scenario(root: Path, clock: VirtualClock) -> Iterator[Protected]:
    """S4 host to host: web01 on hv01 protected toward hv11 by Hyper-V Replica, replicated once."""
    lab = replica_lab(clock)
    with start_winrm_lab(lab) as served, FailoverLab(root, {"hyperv": hyperv_plugin}, clock) as fl:
        user, password = served.credentials
        fabric_id = fl.register_fabric(
            "hyperv", served.endpoint(PRIMARY), user, password, dict(WINRM_OPTIONS)
        )
        book = (("username", user), ("group_book", str(root / "groups.json")))
        target_id = add_target(
            fl, "hyperv-replica", served.endpoint(RECOVERY), password, (*WINRM_OPTIONS, *book)
        )
        try:
            yield _protected(fl, lab, served, fabric_id, "hyperv")
        finally:
            _drop_clients(hyperv_plugin, fabric_id, target_id)


def _protected(
    fl: FailoverLab, lab: HyperVLab, served: ServedLab, fabric_id: str, kind: str
) -> Protected:
    vm = lab.host(PRIMARY).vm("web01")
    fl.native = HyperVReplicaSide(lab, vm, lab.host(RECOVERY))
    fl.map_network(fabric_id)
    options = (("primary_address", served.endpoint(PRIMARY)),)
    item_id = protect_web01(fl, fabric_id, vm.vm_id, options if kind == "hyperv" else ())
    source = HyperVSource(vm, served.winrm[PRIMARY], HyperVHostAsFabric(lab.host(PRIMARY)))
    protected = Protected(fl, source, fabric_id, item_id, kind)
    protected.cycle()
    return protected


#: The vmm-replica lab's hosts: web01's, and the one the target places the replica on.
VMM_PRIMARY, VMM_REPLICA_HOST = "hv01", "hv12"
#: Each VM network of the replica lab -> the id the suite names it by.
VMM_NETWORK_IDS = {
    ("vmm01", "Corp-VMs"): SOURCE_NETWORK,
    ("vmm02", "DR-VMs"): RECOVERY_NETWORK,
    ("vmm02", "Drill"): ISOLATED_NETWORK,
}


@dataclass
class VmmReplicaSide(HyperVReplicaSide):
    """The recovery host of a vmm-replica target; NICs answer by the VM network they reach.

    VMM connects an adapter to a switch; the VM network it is on is the one
    whose logical network that switch carries on the host (``vmm02``'s view).
    """

    vmm: VmmLab | None = None

    def switches_of(self, replica_id: str) -> list[str | None]:
        networks = self._networks_by_switch()
        return [networks.get(a.switch_name or "") for a in self._vm(replica_id).adapters]

    def _networks_by_switch(self) -> dict[str, str]:
        assert self.vmm is not None
        server = self.vmm.server("vmm02")
        uplinks = server.managed(self.recovery.name).uplinks
        return {
            switch: str(network.id)
            for switch, logicals in uplinks.items()
            for network in server.vm_networks
            if network.logical_network in logicals
        }


@dataclass
class VmmHostAsFabric(HyperVHostAsFabric):
    """hv01 as the suite's ``source.fabric``: a VM added there is placed in cloud Gold.

    VMM discovery lists the VMs of its clouds only, so a VM outside every
    cloud could not be protected (an operator would place it first).
    """

    vmm: VmmLab | None = None

    def add_machine(self, name: str, disks: list[int]) -> AddedVm:
        assert self.vmm is not None
        added = super().add_machine(name, disks)
        vm = self.host.vm(name)
        self.vmm.server("vmm01").place_vm(vm, cloud="Gold", networks=["Corp-VMs"])
        return added


def vmm_replica_lab(clock: VirtualClock) -> VmmLab:
    """The S4 VMM lab with the suite's web01 on hv01 and the suite's VM network ids."""
    lab = build_replica_lab(seed=4, clock=clock)
    host = lab.hyperv.host(VMM_PRIMARY)
    host.discard_vm(host.vm("web01"))
    lab.server("vmm01").place_vm(hyperv_vm(host), cloud="Gold", networks=["Corp-VMs"])
    for (server, name), network_id in VMM_NETWORK_IDS.items():
        # A VM network id is an opaque string to srp: the lab's take the suite's names.
        lab.server(server).vm_network(name).id = network_id  # type: ignore[assignment]
    return lab


def _vmm_options(served: ServedLab, lab: VmmLab, server: str) -> dict[str, str]:
    endpoints = ",".join(f"{h.name}={served.endpoint(h.name)}" for h in lab.hyperv.hosts)
    return {
        "transport": "ntlm",
        "retry_wait": "0",
        "vmm_server": server,
        "host_endpoints": endpoints,
    }


def _release_vmm(fabric_id: str, target_id: str) -> None:
    # The plugin pools clients per fabric or target id: none may outlive its scenario.
    vmm_plugin.srp_disconnect(FabricConnection(fabric_id, "vmm", "-"))
    vmm_plugin.REPLICA.locator.drop(FabricConnection(target_id, "vmm", "-"))
    vmm_plugin.REPLICA.sides.pool.drop(FabricConnection(target_id, "hyperv", "-"))


@contextmanager
def vmm_replica_scenario(root: Path, clock: VirtualClock) -> Iterator[Protected]:
    """S4 between clouds: web01 in vmm01's Gold protected toward vmm02's DR, replicated once."""
    lab = vmm_replica_lab(clock)
    with start_vmm_lab(lab) as served, FailoverLab(root, {"vmm": vmm_plugin}, clock) as fl:
        user, password = served.credentials
        options = _vmm_options(served, lab, "vmm01")
        fabric_id = fl.register_fabric("vmm", served.endpoint("vmm01"), user, password, options)
        target_options = {**_vmm_options(served, lab, "vmm02"), "cloud": "DR"}
        book = (("username", user), ("group_book", str(root / "groups.json")))
        target_id = add_target(
            fl,
            "vmm-replica",
            served.endpoint("vmm02"),
            password,
            (*target_options.items(), *book),
        )
        try:
            yield _vmm_protected(fl, lab, served, fabric_id)
        finally:
            _release_vmm(fabric_id, target_id)


def _vmm_protected(fl: FailoverLab, lab: VmmLab, served: ServedLab, fabric_id: str) -> Protected:
    host = lab.hyperv.host(VMM_PRIMARY)
    vm = host.vm("web01")
    fl.native = VmmReplicaSide(lab.hyperv, vm, lab.hyperv.host(VMM_REPLICA_HOST), vmm=lab)
    fl.map_network(fabric_id)
    item_id = protect_web01(fl, fabric_id, vm.vm_id, ())
    fabric = VmmHostAsFabric(host, vmm=lab)
    source = HyperVSource(vm, served.winrm[VMM_PRIMARY], fabric)
    protected = Protected(fl, source, fabric_id, item_id, "vmm")
    protected.cycle()
    return protected
