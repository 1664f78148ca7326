"""The catalog of every PowerShell script the plugin sends to a Hyper-V host.

Each function takes typed arguments and returns a :class:`Script` whose text
is built only from fixed fragments, :func:`ps_quote`, :func:`ps_int` and
:func:`ps_list` (see ``docs/briefs/hyperv-contract.md``). Every script has the
same shape: a prologue that makes errors terminating and silences progress,
a body that assigns ``$result``, and an epilogue that prints ``$result`` as
base64 of UTF-8 JSON (so the shell's code page cannot mangle names).

Enums are stringified in ``Select-Object`` calculated properties because
Windows PowerShell 5.1's ``ConvertTo-Json`` writes them as integers.

The SrpAgent cmdlets (``*-Srp*``) belong to srp's host agent module,
installed on each Hyper-V host like ASR's provider; they expose RCT-based
change tracking and consistent cuts.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from plugins.hyperv.quoting import ps_bool, ps_int, ps_list, ps_quote

PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
EPILOGUE = (
    "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
    "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
)


@dataclass(frozen=True)
class Script:
    """One script ready to send; ``command`` names it in logs and error messages."""

    command: str
    text: str


def _text(prop: str) -> str:
    """A calculated property that stringifies ``prop`` (enums, GUIDs)."""
    return f"@{{n='{prop}';e={{[string]$_.{prop}}}}}"


def _select(*props: str) -> str:
    return "Select-Object " + ", ".join(props)


def single(command: str, body: str) -> Script:
    """A script whose body is one statement assigned to ``$result``."""
    return Script(command, f"{PROLOGUE}$result = {body}\n{EPILOGUE}")


def combined(command: str, parts: Sequence[tuple[str, str]]) -> Script:
    """A script that assigns each ``(key, pipeline)`` and returns them in one hashtable.

    Used where one round trip must gather several lists (discovery).
    """
    # Variables get a suffix: some keys are PowerShell automatic variables ($Host).
    lines = [f"${key}Rows = @({pipeline})" for key, pipeline in parts]
    table = "; ".join(f"{key} = ${key}Rows" for key, _ in parts)
    body = "\n".join(lines)
    return Script(command, f"{PROLOGUE}{body}\n$result = @{{ {table} }}\n{EPILOGUE}")


# --------------------------------------------------------------------------
# Discovery and power.

HOST_SELECT = _select(
    "Name",
    "ComputerName",
    "LogicalProcessorCount",
    "MemoryCapacity",
    "FullyQualifiedDomainName",
    _text("Version"),
)
VM_SELECT = _select(
    "Name",
    _text("Id"),
    _text("State"),
    "Generation",
    "ProcessorCount",
    "MemoryStartup",
    _text("ReplicationState"),
    _text("ReplicationHealth"),
    _text("ReplicationMode"),
    "ComputerName",
)
DRIVE_SELECT = _select(
    "VMName",
    _text("VMId"),
    "Path",
    _text("ControllerType"),
    "ControllerNumber",
    "ControllerLocation",
)
VHD_SELECT = _select(
    "Path", "Size", "FileSize", _text("VhdFormat"), _text("VhdType"), "DiskIdentifier"
)
NIC_SELECT = _select("VMName", "Name", "MacAddress", "SwitchName", "IPAddresses", "Id")
SWITCH_SELECT = _select("Name", _text("Id"), _text("SwitchType"))


def get_vm_host() -> Script:
    """The host's identity (used to connect and to tell a Hyper-V host)."""
    return single("Get-VMHost", f"Get-VMHost | {HOST_SELECT}")


def discover_host() -> Script:
    """Everything discovery needs from one host, in one round trip."""
    return combined(
        "Discover-Host",
        [
            ("Host", f"Get-VMHost | {HOST_SELECT}"),
            ("VMs", f"Get-VM | {VM_SELECT}"),
            ("Drives", f"Get-VM | Get-VMHardDiskDrive | {DRIVE_SELECT}"),
            ("Vhds", f"Get-VM | Get-VMHardDiskDrive | Get-VHD | {VHD_SELECT}"),
            ("Nics", f"Get-VM | Get-VMNetworkAdapter | {NIC_SELECT}"),
            ("Switches", f"Get-VMSwitch | {SWITCH_SELECT}"),
        ],
    )


def get_vm(name: str) -> Script:
    """One VM by name (its id, state and replication summary)."""
    return single("Get-VM", f"Get-VM -Name {ps_quote(name)} | {VM_SELECT}")


def stop_vm(name: str) -> Script:
    """Shut the guest down cleanly (``-Force`` skips the prompt, not the clean shutdown)."""
    return single("Stop-VM", f"Stop-VM -Name {ps_quote(name)} -Force")


def turn_off_vm(name: str) -> Script:
    """Power the VM off without a guest shutdown."""
    return single("Stop-VM", f"Stop-VM -Name {ps_quote(name)} -TurnOff -Force")


def start_vm(name: str) -> Script:
    """Start the VM."""
    return single("Start-VM", f"Start-VM -Name {ps_quote(name)}")


def placement_facts() -> Script:
    """What creating a VM checks first: the host, its VMs' names, its switches, its VHD folder."""
    return combined(
        "Get-VMPlacement",
        [
            ("Host", f"Get-VMHost | {HOST_SELECT}, VirtualHardDiskPath"),
            ("VMs", f"Get-VM | {VM_SELECT}"),
            ("Switches", f"Get-VMSwitch | {SWITCH_SELECT}"),
        ],
    )


@dataclass(frozen=True)
class NewVm:
    """A VM to build: name, size, one empty dynamic VHDX per ``(path, bytes)``, one NIC per switch.

    ``New-VM -NoVHD`` gives the VM one adapter, "Network Adapter", not
    connected: the first switch connects it, the others add adapters.
    """

    name: str
    generation: int
    memory_bytes: int
    vhds: tuple[tuple[str, int], ...]
    switches: tuple[str, ...]


def new_vm(vm: NewVm) -> Script:
    """Create the VM stopped, its empty disks and NICs; returns its Get-VM row."""
    name = ps_quote(vm.name)
    lines = [
        f"$vm = New-VM -Name {name} -Generation {ps_int(vm.generation)}"
        f" -MemoryStartupBytes {ps_int(vm.memory_bytes)} -NoVHD"
    ]
    for index, (path, size) in enumerate(vm.vhds):
        lines.append(
            f"$vhd{index} = New-VHD -Path {ps_quote(path)} -SizeBytes {ps_int(size)} -Dynamic"
        )
        lines.append(f"Add-VMHardDiskDrive -VMName {name} -Path {ps_quote(path)}")
    for index, switch in enumerate(vm.switches):
        if index == 0:
            lines.append(
                f"Connect-VMNetworkAdapter -VMName {name} -Name 'Network Adapter'"
                f" -SwitchName {ps_quote(switch)}"
            )
        else:
            lines.append(f"Add-VMNetworkAdapter -VMName {name} -SwitchName {ps_quote(switch)}")
    body = "\n".join(lines)
    return Script(
        "New-VM", f"{PROLOGUE}{body}\n$result = Get-VM -Name {name} | {VM_SELECT}\n{EPILOGUE}"
    )


# --------------------------------------------------------------------------
# SrpAgent: change tracking and consistent cuts.


class CutConsistency(enum.StrEnum):
    """The ``-Consistency`` values New-SrpCut accepts."""

    CRASH = "Crash"
    APPLICATION = "Application"


@dataclass(frozen=True)
class PreviousCut:
    """A disk's previous cut as New-SrpCut's ``-Previous`` takes it."""

    vm_id: str
    disk_id: str
    cut_id: str

    def token(self) -> str:
        return f"{self.vm_id}/{self.disk_id}={self.cut_id}"


def enable_tracking(vm_name: str) -> Script:
    """Turn RCT on for every disk of the VM; idempotent on the agent."""
    return single(
        "Enable-SrpChangeTracking", f"Enable-SrpChangeTracking -VMName {ps_quote(vm_name)}"
    )


def disable_tracking(vm_name: str) -> Script:
    """Turn RCT off for the VM."""
    return single(
        "Disable-SrpChangeTracking", f"Disable-SrpChangeTracking -VMName {ps_quote(vm_name)}"
    )


def new_cut(
    vm_names: Sequence[str],
    cut_id: str,
    consistency: CutConsistency,
    previous: Sequence[PreviousCut],
) -> Script:
    """One consistent cut across the VMs' disks; ``previous`` omitted means full copies."""
    body = (
        f"New-SrpCut -VMName {ps_list(vm_names)} -CutId {ps_quote(cut_id)}"
        f" -Consistency {ps_quote(consistency.value)}"
    )
    if previous:
        body += f" -Previous {ps_list(p.token() for p in previous)}"
    return single("New-SrpCut", body)


def format_extents(extents: Sequence[tuple[int, int]]) -> str:
    """``o:l,o:l`` as the agent takes byte extents."""
    return ",".join(f"{ps_int(offset)}:{ps_int(length)}" for offset, length in extents)


def read_cut_extents(
    cut_id: str, vm_id: str, disk_id: str, extents: Sequence[tuple[int, int]]
) -> Script:
    """The bytes of these extents of one disk as they were at the cut."""
    return single(
        "Read-SrpCutExtent",
        f"Read-SrpCutExtent -CutId {ps_quote(cut_id)} -VMId {ps_quote(vm_id)}"
        f" -DiskId {ps_quote(disk_id)} -Extents {ps_quote(format_extents(extents))}",
    )


def block_digests(
    cut_id: str, vm_id: str, disk_id: str, block_size: int, offset: int, count: int
) -> Script:
    """SHA-256 of ``count`` blocks of one disk at the cut, starting at byte ``offset``."""
    return single(
        "Get-SrpBlockDigests",
        f"Get-SrpBlockDigests -CutId {ps_quote(cut_id)} -VMId {ps_quote(vm_id)}"
        f" -DiskId {ps_quote(disk_id)} -BlockSize {ps_int(block_size)}"
        f" -Offset {ps_int(offset)} -Count {ps_int(count)}",
    )


def write_disk_extent(vm_id: str, disk_id: str, offset: int, data: bytes) -> Script:
    """Write ``data`` at byte ``offset`` of a disk of a VM that is off (reverse, failback)."""
    payload = base64.b64encode(data).decode("ascii")
    return single(
        "Write-SrpDiskExtent",
        f"Write-SrpDiskExtent -VMId {ps_quote(vm_id)} -DiskId {ps_quote(disk_id)}"
        f" -Offset {ps_int(offset)} -Data {ps_quote(payload)}",
    )


def confirm_cut(cut_id: str) -> Script:
    """The cut's changes become the base; its snapshot is released."""
    return single("Confirm-SrpCut", f"Confirm-SrpCut -CutId {ps_quote(cut_id)}")


def remove_cut(cut_id: str) -> Script:
    """Release the cut without confirming it (its changes go into the next cut)."""
    return single("Remove-SrpCut", f"Remove-SrpCut -CutId {ps_quote(cut_id)}")


# --------------------------------------------------------------------------
# Hyper-V Replica.

REPLICATION_SELECT = _select(
    "VMName",
    _text("State"),
    _text("Health"),
    _text("Mode"),
    "FrequencySec",
    "PrimaryServer",
    "ReplicaServer",
    "LastReplicationTime",
    "TestVirtualMachineName",
)
REPLICATION_SERVER_SELECT = _select(
    "ReplicationEnabled",
    _text("AllowedAuthenticationType"),
    "ReplicationAllowedFromAnyServer",
    "DefaultStorageLocation",
)
SNAPSHOT_SELECT = _select("Name", "VMName", _text("SnapshotType"), "CreationTime")


class ReplicaAuthentication(enum.StrEnum):
    """How the primary authenticates to the replica server."""

    KERBEROS = "Kerberos"
    CERTIFICATE = "Certificate"
    CERTIFICATE_AND_KERBEROS = "CertificateAndKerberos"


def set_replication_server(storage_path: str, allowed: ReplicaAuthentication) -> Script:
    """Make the host accept replicas from any server into ``storage_path``."""
    return single(
        "Set-VMReplicationServer",
        "Set-VMReplicationServer -ReplicationEnabled $true"
        f" -AllowedAuthenticationType {ps_quote(allowed.value)}"
        f" -ReplicationAllowedFromAnyServer $true -DefaultStorageLocation {ps_quote(storage_path)}",
    )


def get_replication_server() -> Script:
    """The host's replica server settings."""
    return single(
        "Get-VMReplicationServer", f"Get-VMReplicationServer | {REPLICATION_SERVER_SELECT}"
    )


@dataclass(frozen=True)
class ReplicationSettings:
    """Enable-VMReplication's options."""

    replica_server: str
    port: int = 80
    authentication: ReplicaAuthentication = ReplicaAuthentication.KERBEROS
    frequency_sec: int = 300
    recovery_history: int = 0
    vss_frequency_hours: int = 0
    compression: bool = True
    auto_resynchronize: bool = True


def enable_replication(vm_name: str, settings: ReplicationSettings) -> Script:
    """Make the VM a primary replicating to ``settings.replica_server``."""
    body = (
        f"Enable-VMReplication -VMName {ps_quote(vm_name)}"
        f" -ReplicaServerName {ps_quote(settings.replica_server)}"
        f" -ReplicaServerPort {ps_int(settings.port)}"
        f" -AuthenticationType {ps_quote(settings.authentication.value)}"
        f" -CompressionEnabled {ps_bool(settings.compression)}"
        f" -RecoveryHistory {ps_int(settings.recovery_history)}"
        f" -ReplicationFrequencySec {ps_int(settings.frequency_sec)}"
        f" -AutoResynchronizeEnabled {ps_bool(settings.auto_resynchronize)}"
    )
    if settings.vss_frequency_hours:
        body += f" -VSSSnapshotFrequencyHour {ps_int(settings.vss_frequency_hours)}"
    return single("Enable-VMReplication", body)


def _vm_command(command: str, vm_name: str, extra: str = "") -> Script:
    return single(command, f"{command} -VMName {ps_quote(vm_name)}{extra}")


def start_initial_replication(vm_name: str) -> Script:
    """Send the VM's disks to the replica over the network."""
    return _vm_command("Start-VMInitialReplication", vm_name)


def get_replication(vm_name: str) -> Script:
    """The VM's replication state, health and mode on this host."""
    return single(
        "Get-VMReplication", f"Get-VMReplication -VMName {ps_quote(vm_name)} | {REPLICATION_SELECT}"
    )


def measure_replication(vm_name: str) -> Script:
    """Replication statistics of the VM."""
    return _vm_command("Measure-VMReplication", vm_name)


def suspend_replication(vm_name: str) -> Script:
    """Pause replication."""
    return _vm_command("Suspend-VMReplication", vm_name)


def resume_replication(vm_name: str, resynchronize: bool = False) -> Script:
    """Resume replication, resynchronizing the disks when asked."""
    return _vm_command("Resume-VMReplication", vm_name, " -Resynchronize" if resynchronize else "")


class FailoverStep(enum.StrEnum):
    """The flavours of Start-VMFailover."""

    PREPARE = "Prepare"
    TEST = "AsTest"
    FAILOVER = ""


def start_failover(vm_name: str, step: FailoverStep) -> Script:
    """Start-VMFailover; ``-Prepare`` on a primary, plain or ``-AsTest`` on a replica."""
    return _vm_command("Start-VMFailover", vm_name, f" -{step.value}" if step.value else "")


def complete_failover(vm_name: str) -> Script:
    """Make a failover final (the other recovery points are discarded)."""
    return _vm_command("Complete-VMFailover", vm_name)


def stop_failover(vm_name: str) -> Script:
    """Undo a failover or remove a test failover's VM."""
    return _vm_command("Stop-VMFailover", vm_name)


def reverse_replication(vm_name: str, replica_server: str) -> Script:
    """Make the failed-over replica the primary, replicating back to ``replica_server``."""
    return _vm_command(
        "Set-VMReplication", vm_name, f" -Reverse -ReplicaServerName {ps_quote(replica_server)}"
    )


def remove_replication(vm_name: str) -> Script:
    """Stop replicating the VM and forget the relationship on this host."""
    return _vm_command("Remove-VMReplication", vm_name)


def replica_snapshots(vm_name: str) -> Script:
    """The recovery points a replica VM holds."""
    return single(
        "Get-VMSnapshot",
        f"Get-VMSnapshot -VMName {ps_quote(vm_name)} -SnapshotType 'Replica' | {SNAPSHOT_SELECT}",
    )


# --------------------------------------------------------------------------
# NIC placement at failover.

ADAPTER_SELECT = _select("VMName", "Name", "Id", "MacAddress", "SwitchName")


def get_adapters(vm_name: str) -> Script:
    """The VM's network adapters in Hyper-V's order (their ids and switches)."""
    return single(
        "Get-VMNetworkAdapter",
        f"Get-VMNetworkAdapter -VMName {ps_quote(vm_name)} | {ADAPTER_SELECT}",
    )


def get_switches() -> Script:
    """The host's virtual switches (name, id, type)."""
    return single("Get-VMSwitch", f"Get-VMSwitch | {SWITCH_SELECT}")


def connect_adapters(vm_name: str, placements: Sequence[tuple[str, str]]) -> Script:
    """Connect each adapter (by its Id) of the VM to a switch; returns the VM's adapters.

    Adapters of one VM usually share the name "Network Adapter", so each is
    picked by its Id from ``Get-VMNetworkAdapter`` and piped to
    ``Connect-VMNetworkAdapter`` (which binds ``-VMNetworkAdapter`` from the pipeline).
    """
    name = ps_quote(vm_name)
    lines = [
        f"Get-VMNetworkAdapter -VMName {name} | Where-Object {{ $_.Id -eq {ps_quote(adapter)} }}"
        f" | Connect-VMNetworkAdapter -SwitchName {ps_quote(switch)}"
        for adapter, switch in placements
    ]
    body = "\n".join(lines)
    result = f"$result = Get-VMNetworkAdapter -VMName {name} | {ADAPTER_SELECT}"
    return Script("Connect-VMNetworkAdapter", f"{PROLOGUE}{body}\n{result}\n{EPILOGUE}")


def connect_all_adapters(vm_name: str, switch: str) -> Script:
    """Connect every adapter of the VM to one switch (a test VM joins the isolated network)."""
    return single(
        "Connect-VMNetworkAdapter",
        f"Connect-VMNetworkAdapter -VMName {ps_quote(vm_name)} -SwitchName {ps_quote(switch)}",
    )
