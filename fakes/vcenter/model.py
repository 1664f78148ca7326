"""The simulated vCenter's inventory: datacenters, clusters, hosts, networks, datastores, VMs.

VM disks are VMDKs on :class:`fakes.disk.VirtualDisk` with CBT
(:mod:`fakes.vcenter.cbt`). Snapshots and tasks live in
:mod:`fakes.vcenter.snapshots`. Managed object ids are minted like
vCenter's (``datacenter-1``, ``host-12``, ``vm-42``) and never reused.

Example::

    vc = VCenter(seed=1)
    dc = vc.add_datacenter("DC1")
    host = dc.add_host("esx01.lab", cluster=dc.add_cluster("Prod"))
    dc.add_network("VM Network")
    vm = vc.create_vm("web01", host, disks=(1 << 20,), networks=("VM Network",))
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from fakes.clock import VirtualClock
from fakes.disk import VirtualDisk
from fakes.vcenter.cbt import ChangeTracker
from fakes.vcenter.faults import RestError, not_found, object_not_found
from fakes.vcenter.sessions import SessionBook

#: vCenter's CBT granularity is coarser than a guest block: 64 KiB here.
CBT_BLOCK_SIZE = 64 * 1024
#: The root folder's managed object id, as every vCenter names it.
ROOT_FOLDER = "group-d1"
FIRST_DISK_KEY = 2000
FIRST_NIC_KEY = 4000
POWERED_ON, POWERED_OFF, SUSPENDED = "POWERED_ON", "POWERED_OFF", "SUSPENDED"


@dataclass
class VCenterFaults:
    """Fault switches of the simulated vCenter (see also ``SessionBook.expire_all``).

    ``quiesce_failure``: quiesced snapshots fail with this text (VSS error).
    ``unavailable_calls``: the next N API calls answer 503 SERVICE_UNAVAILABLE.
    ``task_polls``: a task reads ``running`` this many times before it is done.
    ``cbt_query_window``: bytes one QueryChangedDiskAreas call covers at most.
    """

    quiesce_failure: str = ""
    unavailable_calls: int = 0
    task_polls: int = 0
    cbt_query_window: int = 64 << 20


def datastore_name(name: str) -> str:
    """A VM name as vSphere writes it in datastore paths: ``%``, ``/`` and ``\\`` escaped."""
    return name.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


@dataclass
class Network:
    moid: str
    name: str
    type: str = "STANDARD_PORTGROUP"


@dataclass
class Datastore:
    moid: str
    name: str
    capacity: int = 2 << 40


@dataclass
class Cluster:
    moid: str
    name: str


@dataclass
class EsxHost:
    moid: str
    name: str
    cluster: Cluster | None = None
    version: str = "8.0.2"


@dataclass
class Vmdk:
    """A virtual disk of a VM: device key, datastore file, bytes, CBT."""

    key: int
    label: str
    base_file: str
    disk: VirtualDisk
    cbt: ChangeTracker
    datastore: Datastore
    current_file: str = ""

    @property
    def capacity(self) -> int:
        return self.disk.capacity


@dataclass
class VmNic:
    """A network adapter; ``ip_addresses`` are what VMware Tools reports from the guest."""

    key: int
    label: str
    mac: str
    network: Network
    ip_addresses: tuple[str, ...] = ()


@dataclass
class VirtualMachine:
    """A VM: identity, hardware, power state, VMDKs, NICs and its snapshots."""

    moid: str
    name: str
    datacenter: Datacenter
    host: EsxHost
    instance_uuid: str
    bios_uuid: str
    cpu_count: int = 2
    memory_mib: int = 4096
    guest_os: str = "WINDOWS_9_SERVER_64"
    power_state: str = POWERED_ON
    tools_running: bool = True
    disks: list[Vmdk] = field(default_factory=list)
    nics: list[VmNic] = field(default_factory=list)
    cbt_enabled: bool = False
    snapshot_counter: int = 0

    def disk(self, key: int) -> Vmdk:
        for vmdk in self.disks:
            if vmdk.key == key:
                return vmdk
        raise KeyError(key)

    @property
    def virtual_disks(self) -> list[VirtualDisk]:
        """The VMDKs' bytes, e.g. for a workload generator."""
        return [vmdk.disk for vmdk in self.disks]


class Datacenter:
    """A datacenter: its clusters, hosts, networks and datastore."""

    def __init__(self, vcenter: VCenter, moid: str, name: str) -> None:
        self.vcenter = vcenter
        self.moid = moid
        self.name = name
        self.clusters: list[Cluster] = []
        self.hosts: list[EsxHost] = []
        self.networks: list[Network] = []
        self.datastores: list[Datastore] = [Datastore(vcenter.mint("datastore"), "datastore1")]

    def add_cluster(self, name: str) -> Cluster:
        cluster = Cluster(self.vcenter.mint("domain-c"), name)
        self.clusters.append(cluster)
        return cluster

    def add_host(self, name: str, cluster: Cluster | None = None) -> EsxHost:
        host = EsxHost(self.vcenter.mint("host"), name, cluster)
        self.hosts.append(host)
        return host

    def add_network(self, name: str, kind: str = "STANDARD_PORTGROUP") -> Network:
        network = Network(
            self.vcenter.mint("network" if kind != "DISTRIBUTED_PORTGROUP" else "dvportgroup"),
            name,
            kind,
        )
        self.networks.append(network)
        return network

    def network(self, name: str) -> Network:
        for network in self.networks:
            if network.name == name:
                return network
        raise KeyError(f"datacenter {self.name!r} has no network {name!r}")


class VCenter:
    """One simulated vCenter Server: inventory, sessions, snapshots, tasks, fault switches."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: VirtualClock | None = None,
        users: dict[str, str] | None = None,
        name: str = "vcsa01.lab.local",
    ) -> None:
        self.name = name
        self.clock = clock or VirtualClock()
        self.instance_uuid = str(uuid.UUID(int=random.Random(seed).getrandbits(128)))
        self.faults = VCenterFaults()
        self.sessions = SessionBook(
            users or {"administrator@vsphere.local": "VMware1!"}, self.clock.now, seed
        )
        self.datacenters: list[Datacenter] = []
        self.vms: dict[str, VirtualMachine] = {}
        self.lock = threading.RLock()
        self._random = random.Random(seed)
        self._counter = itertools.count(1)
        # Tasks and snapshots register here; see fakes.vcenter.snapshots.
        from fakes.vcenter.properties import Collector
        from fakes.vcenter.snapshots import SnapshotManager

        self.snapshots = SnapshotManager(self)
        #: Container views and paged retrievals of the JSON API (fakes.vcenter.properties).
        self.collector = Collector()

    @property
    def credentials(self) -> tuple[str, str]:
        """The first user and password, for tests."""
        return next(iter(self.sessions.users.items()))

    def now(self) -> float:
        return self.clock.now()

    def mint(self, prefix: str) -> str:
        """A new managed object id (``vm-12``); ids are never reused."""
        return f"{prefix}-{next(self._counter)}"

    def add_datacenter(self, name: str) -> Datacenter:
        datacenter = Datacenter(self, self.mint("datacenter"), name)
        self.datacenters.append(datacenter)
        return datacenter

    def datacenter_named(self, name: str) -> Datacenter:
        for datacenter in self.datacenters:
            if datacenter.name == name:
                return datacenter
        raise KeyError(name)

    # -- virtual machines -------------------------------------------------------------

    def create_vm(
        self,
        name: str,
        host: EsxHost,
        *,
        disks: Sequence[int] = (1 << 20,),
        networks: Sequence[str | Network] = (),
        power_on: bool = True,
        cpu_count: int = 2,
        memory_mib: int = 4096,
        datastore: Datastore | None = None,
        guest_os: str = "WINDOWS_9_SERVER_64",
    ) -> VirtualMachine:
        """Create a VM on ``host`` with zero-filled disks of these sizes, NICs on these networks.

        A network is named, or given as the port group itself (two port groups
        may share a name); the disks go on ``datastore`` (the datacenter's first
        by default).
        """
        datacenter = self._datacenter_of(host)
        vm = VirtualMachine(
            moid=self.mint("vm"),
            name=name,
            datacenter=datacenter,
            host=host,
            instance_uuid=self._uuid(),
            bios_uuid=self._uuid(),
            cpu_count=cpu_count,
            memory_mib=memory_mib,
            guest_os=guest_os,
            power_state=POWERED_ON if power_on else POWERED_OFF,
        )
        place = datastore or datacenter.datastores[0]
        vm.disks = [self._vmdk(vm, index, size, place) for index, size in enumerate(disks)]
        vm.nics = [
            self._nic(vm, index, net if isinstance(net, Network) else datacenter.network(net))
            for index, net in enumerate(networks)
        ]
        with self.lock:
            self.vms[vm.moid] = vm
        return vm

    def _datacenter_of(self, host: EsxHost) -> Datacenter:
        for datacenter in self.datacenters:
            if host in datacenter.hosts:
                return datacenter
        raise KeyError(f"host {host.name!r} is in no datacenter of this vCenter")

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _vmdk(self, vm: VirtualMachine, index: int, size: int, datastore: Datastore) -> Vmdk:
        folder = datastore_name(vm.name)
        stem = folder if index == 0 else f"{folder}_{index}"
        base = f"[{datastore.name}] {folder}/{stem}.vmdk"
        disk = VirtualDisk.in_memory(
            size,
            block_size=CBT_BLOCK_SIZE,
            name=f"{folder}/{stem}.vmdk",
            disk_id=f"{vm.moid}-{FIRST_DISK_KEY + index}",
        )
        return Vmdk(
            FIRST_DISK_KEY + index,
            f"Hard disk {index + 1}",
            base,
            disk,
            ChangeTracker(disk),
            datastore,
            base,
        )

    def _nic(self, vm: VirtualMachine, index: int, network: Network) -> VmNic:
        mac = "00:50:56:" + ":".join(f"{self._random.randrange(256):02x}" for _ in range(3))
        return VmNic(FIRST_NIC_KEY + index, f"Network adapter {index + 1}", mac, network)

    def vm(self, moid: str) -> VirtualMachine:
        """A VM by managed object id; REST NOT_FOUND when it does not exist."""
        with self.lock:
            found = self.vms.get(moid)
        if found is None:
            raise not_found("virtual machine", moid)
        return found

    def vim_vm(self, moid: str) -> VirtualMachine:
        """A VM by managed object id; the JSON API's ManagedObjectNotFound when gone."""
        with self.lock:
            found = self.vms.get(moid)
        if found is None:
            raise object_not_found("VirtualMachine", moid)
        return found

    def vm_named(self, name: str) -> VirtualMachine:
        with self.lock:
            for vm in self.vms.values():
                if vm.name == name:
                    return vm
        raise KeyError(name)

    def delete_vm(self, vm: VirtualMachine) -> None:
        """Delete a VM from the inventory (and its snapshots); its id is never reused."""
        with self.lock:
            self.snapshots.drop_all(vm)
            self.vms.pop(vm.moid, None)

    def reset_cbt(self, vm: VirtualMachine, reason: str = "CBT was reset") -> None:
        """Fault switch: every disk of the VM loses its change log (a new change-id epoch)."""
        for vmdk in vm.disks:
            vmdk.cbt.reset(reason)

    def set_cbt(self, vm: VirtualMachine, enabled: bool) -> None:
        """Turn changed block tracking on or off on every disk of the VM."""
        for vmdk in vm.disks:
            if enabled:
                vmdk.cbt.enable()
            else:
                vmdk.cbt.disable()
        vm.cbt_enabled = enabled

    # -- power ------------------------------------------------------------------------

    def set_power(self, vm: VirtualMachine, action: str) -> None:
        """REST power action ``start``, ``stop``, ``suspend`` or ``reset``."""
        wanted = {
            "start": POWERED_ON,
            "stop": POWERED_OFF,
            "suspend": SUSPENDED,
            "reset": POWERED_ON,
        }
        if action not in wanted:
            raise RestError("INVALID_ARGUMENT", f"Unknown power action '{action}'.")
        if action != "reset" and vm.power_state == wanted[action]:
            raise RestError(
                "ALREADY_IN_DESIRED_STATE",
                f"Virtual machine is already {wanted[action].lower().replace('_', ' ')}.",
            )
        if action in ("suspend", "reset") and vm.power_state != POWERED_ON:
            raise RestError("NOT_ALLOWED_IN_CURRENT_STATE", "Virtual machine is not powered on.")
        vm.power_state = wanted[action]
        vm.tools_running = vm.power_state == POWERED_ON

    # -- lookups for the API routers --------------------------------------------------

    def all_hosts(self) -> Iterable[tuple[Datacenter, EsxHost]]:
        return ((dc, host) for dc in self.datacenters for host in dc.hosts)

    def live_vms(
        self, keep: Callable[[VirtualMachine], bool] = lambda vm: True
    ) -> list[VirtualMachine]:
        with self.lock:
            return [vm for vm in self.vms.values() if keep(vm)]
