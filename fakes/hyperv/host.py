"""A simulated Hyper-V host: VMs, their VHDs on fake disks, switches, NICs, fault switches.

A host belongs to a :class:`~fakes.hyperv.site.HyperVLab` (shared virtual
clock, seed, network links). It runs PowerShell scripts through the fake
interpreter (:meth:`HyperVHost.run_script`), the way ``powershell.exe
-EncodedCommand`` would, and records every cmdlet it ran in
:attr:`HyperVHost.command_log` so tests can prove that nothing else ran.

Example::

    from fakes.hyperv import HyperVLab

    lab = HyperVLab(seed=1)
    host = lab.add_host("hv01")
    host.add_switch("LAN")
    vm = host.create_vm("app01", disks=[1 << 20], switch="LAN", running=True)
    vm.disks[0].write(0, b"boot")
    result = host.run_script("Get-VM -Name 'app01' | Select-Object Name")
    assert result.exit_code == 0
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fakes.disk import VirtualDisk
from fakes.hyperv.agent import SrpAgent
from fakes.hyperv.enums import (
    ControllerType,
    ReplicationHealth,
    ReplicationMode,
    ReplicationState,
    SwitchType,
    VhdFormat,
    VhdType,
    VMState,
)
from fakes.hyperv.faults import HostFaults, hostile_result
from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.catalog import REGISTRY
from fakes.hyperv.powershell.interpreter import run_script
from fakes.hyperv.powershell.output import clixml_document, console_bytes
from fakes.hyperv.replica_server import ReplicationServerSettings

if TYPE_CHECKING:
    from fakes.hyperv.replication import ReplicationLink
    from fakes.hyperv.site import HyperVLab

GIB = 1 << 30
DEFAULT_VM_MEMORY = 2 * GIB
_VHD_FOLDER = "C:\\ProgramData\\Microsoft\\Windows\\Virtual Hard Disks"
_VM_FOLDER = "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V"
_WILDCARD = re.compile(r"(?<!`)[*?]")


@dataclass(frozen=True)
class RawResult:
    """What ``powershell.exe`` printed (console code page 437) and its exit code."""

    stdout: bytes
    stderr: bytes
    exit_code: int


@dataclass(frozen=True)
class CommandLogEntry:
    """One cmdlet the host ran, with its bound parameters, at a virtual time."""

    command: str
    parameters: tuple[tuple[str, object], ...]
    at: float

    def parameter(self, name: str) -> object:
        return dict(self.parameters).get(name)


@dataclass
class VMSwitch:
    name: str
    id: uuid.UUID
    switch_type: SwitchType


@dataclass
class Vhd:
    """A virtual hard disk file: a path on the host and the fake disk behind it."""

    path: str
    disk: VirtualDisk
    vhd_format: VhdFormat = VhdFormat.VHDX
    vhd_type: VhdType = VhdType.Dynamic

    @property
    def size(self) -> int:
        return self.disk.capacity

    @property
    def file_size(self) -> int:
        # A dynamic VHDX holds its written blocks plus about 4 MiB of metadata.
        allocated = sum(length for _, length in self.disk.allocated_extents())
        return allocated + (4 << 20)


@dataclass
class HardDiskDrive:
    controller_type: ControllerType
    controller_number: int
    controller_location: int
    vhd: Vhd

    @property
    def name(self) -> str:
        controller = self.controller_type.name
        return (
            f"Hard Drive on {controller} controller number {self.controller_number} "
            f"at location {self.controller_location}"
        )


@dataclass
class NetworkAdapter:
    name: str
    mac_address: str
    switch_name: str | None
    adapter_id: str
    ip_addresses: tuple[str, ...] = ()


@dataclass
class VirtualMachine:
    """A VM as the Hyper-V module shows it; ``replication`` is its Hyper-V Replica link."""

    name: str
    id: uuid.UUID
    host: HyperVHost
    generation: int = 2
    state: VMState = VMState.Off
    memory_startup: int = DEFAULT_VM_MEMORY
    processor_count: int = 2
    drives: list[HardDiskDrive] = field(default_factory=list)
    adapters: list[NetworkAdapter] = field(default_factory=list)
    replication: ReplicationLink | None = None
    #: Set on a test-failover VM: the link whose replica it was copied from.
    test_of: ReplicationLink | None = None

    @property
    def disks(self) -> list[VirtualDisk]:
        """The fake disks behind the VM's drives, in controller order."""
        return [drive.vhd.disk for drive in self.drives]

    @property
    def vm_id(self) -> str:
        return str(self.id)

    def replication_view(self) -> tuple[ReplicationState, ReplicationHealth, ReplicationMode]:
        """ReplicationState, ReplicationHealth and ReplicationMode as Get-VM shows them."""
        if self.test_of is not None:
            return (
                ReplicationState.Disabled,
                ReplicationHealth.NotApplicable,
                ReplicationMode.TestReplica,
            )
        if self.replication is None:
            return ReplicationState.Disabled, ReplicationHealth.NotApplicable, ReplicationMode.None_
        link = self.replication
        return link.state_of(self), link.health_of(self), link.mode_of(self)


def _wildcard_regex(pattern: str) -> str:
    """A regular expression for a PowerShell wildcard (backtick escapes the next character)."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "`":
            escaped = True
        else:
            parts.append({"*": ".*", "?": "."}.get(char, re.escape(char)))
    return "".join(parts)


class HyperVHost:
    """One fake Hyper-V host; build it with :meth:`HyperVLab.add_host`."""

    def __init__(
        self,
        lab: HyperVLab,
        name: str,
        *,
        address: str,
        fqdn: str,
        processors: int = 16,
        memory: int = 64 * GIB,
    ) -> None:
        self.lab = lab
        self.name = name
        self.address = address
        self.fqdn = fqdn
        self.processors = processors
        self.memory = memory
        self.faults = HostFaults()
        self.command_log: list[CommandLogEntry] = []
        self.script_log: list[str] = []
        self.vms: list[VirtualMachine] = []
        self.switches: list[VMSwitch] = []
        self.vhds: dict[str, Vhd] = {}
        self.replication_server = ReplicationServerSettings()
        self.agent = SrpAgent(self)
        self.rng = random.Random(f"{lab.seed}:{name}")

    def __repr__(self) -> str:
        return f"HyperVHost(name={self.name!r}, vms={len(self.vms)})"

    @property
    def hyperv_installed(self) -> bool:
        """False under the "not a Hyper-V host" fault: the Hyper-V cmdlets are unknown."""
        return not self.faults.not_hyperv

    def now(self) -> float:
        return self.lab.clock.now()

    def new_guid(self) -> uuid.UUID:
        """A GUID from the host's seeded generator (deterministic runs)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # -- inventory set-up (Python API for tests) -------------------------------------------

    def add_switch(self, name: str, switch_type: SwitchType = SwitchType.External) -> VMSwitch:
        """Create a virtual switch."""
        switch = VMSwitch(name, self.new_guid(), switch_type)
        self.switches.append(switch)
        return switch

    def create_vm(
        self,
        name: str,
        *,
        disks: Sequence[int] = (1 << 20,),
        switch: str | None = None,
        adapters: Sequence[str | None] | None = None,
        running: bool = False,
        generation: int = 2,
        memory: int = DEFAULT_VM_MEMORY,
        processors: int = 2,
        block_size: int = 4096,
        vm_id: uuid.UUID | None = None,
        folder: str = _VHD_FOLDER,
    ) -> VirtualMachine:
        """Create a VM with one in-memory VHDX per capacity in ``disks``.

        It gets one network adapter on ``switch``, or one per entry of
        ``adapters`` (``None``: not connected).
        """
        if self.find_vms(name) and not _WILDCARD.search(name):
            raise ValueError(f"a VM named {name!r} already exists on host {self.name!r}")
        vm = VirtualMachine(
            name,
            vm_id or self.new_guid(),
            self,
            generation=generation,
            state=VMState.Running if running else VMState.Off,
            memory_startup=memory,
            processor_count=processors,
        )
        for index, capacity in enumerate(disks):
            path = f"{folder}\\{name}_{index}.vhdx"
            self.attach_vhd(vm, self.new_vhd(path, capacity, block_size=block_size))
        for switch_name in adapters if adapters is not None else [switch]:
            self.add_adapter(vm, switch_name)
        self.vms.append(vm)
        return vm

    def new_vhd(self, path: str, capacity: int, *, block_size: int = 4096) -> Vhd:
        """Create a VHDX file (an in-memory fake disk) at ``path``."""
        if path.lower() in self.vhds:
            raise ValueError(f"a VHD already exists at {path!r} on host {self.name!r}")
        disk = VirtualDisk.in_memory(
            capacity, block_size=block_size, name=path, disk_id=str(self.new_guid())
        )
        vhd = Vhd(path, disk)
        self.vhds[path.lower()] = vhd
        return vhd

    def attach_vhd(self, vm: VirtualMachine, vhd: Vhd) -> HardDiskDrive:
        """Attach a VHD to the next SCSI location (generation 2) or IDE slot (generation 1)."""
        controller = ControllerType.SCSI if vm.generation == 2 else ControllerType.IDE
        number, location = (0, len(vm.drives)) if vm.generation == 2 else divmod(len(vm.drives), 2)
        drive = HardDiskDrive(controller, number, location, vhd)
        vm.drives.append(drive)
        return drive

    def add_adapter(self, vm: VirtualMachine, switch: str | None) -> NetworkAdapter:
        """Add a network adapter connected to ``switch`` (``None``: not connected)."""
        mac = "00155D" + f"{self.rng.getrandbits(24):06X}"
        adapter_id = f"Microsoft:{str(vm.id).upper()}\\{str(self.new_guid()).upper()}"
        address = f"10.0.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
        ips = (address,) if vm.state is VMState.Running else ()
        adapter = NetworkAdapter("Network Adapter", mac, switch, adapter_id, ips)
        vm.adapters.append(adapter)
        return adapter

    # -- lookup ------------------------------------------------------------------------

    def find_vms(self, pattern: str) -> list[VirtualMachine]:
        """VMs whose name matches ``pattern``: PowerShell wildcards ``*`` and ``?``, no case.

        A name without an unescaped wildcard is compared literally, so names
        holding backticks or brackets find exactly themselves.
        """
        if not _WILDCARD.search(pattern):
            return [vm for vm in self.vms if vm.name.lower() == pattern.lower()]
        regex = re.compile(_wildcard_regex(pattern), re.IGNORECASE | re.DOTALL)
        return [vm for vm in self.vms if regex.fullmatch(vm.name)]

    def vm(self, name: str) -> VirtualMachine:
        """The VM named ``name``; raises the real "unable to find" error otherwise."""
        found = self.find_vms(name)
        if not found:
            raise errors.vm_not_found(name)
        return found[0]

    def vm_by_id(self, vm_id: str) -> VirtualMachine | None:
        lowered = vm_id.strip("{}").lower()
        return next((vm for vm in self.vms if str(vm.id) == lowered), None)

    def vhd(self, path: str) -> Vhd | None:
        return self.vhds.get(path.lower())

    # -- power -------------------------------------------------------------------------

    def start_vm(self, vm: VirtualMachine) -> bool:
        """Start ``vm``; False if it was already running. Replica rules apply."""
        if vm.replication is not None:
            vm.replication.check_can_start(vm)
        if vm.state is VMState.Running:
            return False
        vm.state = VMState.Running
        return True

    def stop_vm(self, vm: VirtualMachine) -> bool:
        """Shut ``vm`` down (clean); False if it was already off."""
        if vm.state is VMState.Off:
            return False
        vm.state = VMState.Off
        return True

    # -- faults ------------------------------------------------------------------------

    def crash(self) -> None:
        """Fault: the host crashes and reboots; VMs are off, change tracking must resync."""
        with self.lab.lock:
            for vm in self.vms:
                vm.state = VMState.Off
                for disk in vm.disks:
                    disk.unclean_stop()

    def lose_tracking(self, vm_name: str) -> None:
        """Fault: the change tracking of the VM's disks is lost (next cut resynchronizes)."""
        with self.lab.lock:
            for disk in self.vm(vm_name).disks:
                disk.lose_tracking("resilient change tracking was lost")

    def remove_vm(self, name: str) -> VirtualMachine:
        """Fault or clean-up: the VM disappears from the host (its VHD files stay)."""
        with self.lab.lock:
            vm = self.vm(name)
            if vm.replication is not None:
                vm.replication.forget(vm)
            self.agent.forget(vm)
            self.vms.remove(vm)
            return vm

    def discard_vm(self, vm: VirtualMachine) -> None:
        """Delete a VM and its VHD files (a test-failover VM being cleaned up)."""
        with self.lab.lock:
            self.agent.forget(vm)
            if vm in self.vms:
                self.vms.remove(vm)
            for drive in vm.drives:
                self.vhds.pop(drive.vhd.path.lower(), None)
                drive.vhd.disk.close()

    # -- scripts -----------------------------------------------------------------------

    def log_command(self, command: str, arguments: dict[str, object]) -> None:
        """Record one cmdlet run (called by the interpreter after binding)."""
        entry = CommandLogEntry(command, tuple(arguments.items()), self.now())
        self.command_log.append(entry)

    def commands_run(self) -> list[str]:
        """The names of the cmdlets run so far, in order."""
        return [entry.command for entry in self.command_log]

    def run_script(self, script: str) -> RawResult:
        """Run a PowerShell script as ``powershell -EncodedCommand`` would on this host."""
        with self.lab.lock:
            self.script_log.append(script)
            outcome = run_script(self, REGISTRY, script)
        stdout = console_bytes(outcome.stdout)
        stderr = console_bytes(clixml_document(outcome.stderr_elements))
        hostile = hostile_result(self.faults.hostile_output, stdout)
        if hostile is not None:
            return RawResult(*hostile)
        return RawResult(stdout, stderr, outcome.exit_code)

    @property
    def vm_folder(self) -> str:
        return _VM_FOLDER
