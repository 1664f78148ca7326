"""Hyper-V Replica cmdlets: the Replica server, replication, failover, recovery points."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.enums import AuthenticationType, SnapshotType
from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.cmdlets_vm import target_vms
from fakes.hyperv.powershell.commands import (
    HYPERV_MODULE,
    CmdletSpec,
    Handler,
    Invocation,
    Param,
    hyperv_class,
)
from fakes.hyperv.powershell.errors import VirtualizationError
from fakes.hyperv.powershell.objects import (
    replication_object,
    replication_server_object,
    snapshot_object,
    statistics_object,
    vm_object,
)
from fakes.hyperv.replication import FREQUENCIES, ReplicationLink, ReplicationSettings

if TYPE_CHECKING:
    from fakes.hyperv.host import VirtualMachine

_AUTH_CHOICES = tuple(member.name for member in AuthenticationType)
_FREQUENCY_CHOICES = tuple(str(value) for value in FREQUENCIES)
_SNAPSHOT_CHOICES = tuple(member.name for member in SnapshotType)


def _link(vm: VirtualMachine) -> ReplicationLink:
    if vm.replication is None:
        raise errors.replication_not_enabled(vm.name)
    return vm.replication


def _replicated(invocation: Invocation) -> list[VirtualMachine]:
    """The named VMs (each must have replication), or every replicated VM when none is named."""
    if invocation.has("VMName") or invocation.input is not None:
        vms = target_vms(invocation)
        for vm in vms:
            _link(vm)
        return vms
    return [vm for vm in invocation.host.vms if vm.replication is not None]


# -- Replica server --------------------------------------------------------------------


def set_replication_server(invocation: Invocation) -> list[object]:
    server = invocation.host.replication_server
    if invocation.has("ReplicationEnabled"):
        server.enabled = invocation.get("ReplicationEnabled") is True
    if invocation.has("AllowedAuthenticationType"):
        server.allowed_authentication = AuthenticationType[
            invocation.text("AllowedAuthenticationType")
        ]
    if invocation.has("ReplicationAllowedFromAnyServer"):
        server.allowed_from_any_server = invocation.get("ReplicationAllowedFromAnyServer") is True
    if invocation.has("DefaultStorageLocation"):
        server.storage_location = invocation.text("DefaultStorageLocation")
    if invocation.has("KerberosAuthenticationPort"):
        server.kerberos_port = invocation.number("KerberosAuthenticationPort")
    if invocation.has("CertificateAuthenticationPort"):
        server.certificate_port = invocation.number("CertificateAuthenticationPort")
    if invocation.has("CertificateThumbprint"):
        server.certificate_thumbprint = invocation.text("CertificateThumbprint")
    return []


def get_replication_server(invocation: Invocation) -> list[object]:
    return [replication_server_object(invocation.host)]


# -- relationship ----------------------------------------------------------------------


def _settings(invocation: Invocation) -> ReplicationSettings:
    authentication = AuthenticationType[invocation.text("AuthenticationType")]
    if authentication is not AuthenticationType.Kerberos and not invocation.text(
        "CertificateThumbprint"
    ):
        raise VirtualizationError(
            "A certificate thumbprint must be specified for certificate-based authentication.",
            category="InvalidArgument",
            error_id="InvalidParameter",
        )
    return ReplicationSettings(
        replica_server=invocation.text("ReplicaServerName"),
        replica_port=invocation.number("ReplicaServerPort"),
        authentication=authentication,
        frequency_sec=invocation.number("ReplicationFrequencySec", 300),
        recovery_history=invocation.number("RecoveryHistory", 0),
        vss_frequency_hours=invocation.number("VSSSnapshotFrequencyHour", 0),
        compression=invocation.get("CompressionEnabled", True) is True,
        auto_resynchronize=invocation.get("AutoResynchronizeEnabled", False) is True,
    )


def enable_replication(invocation: Invocation) -> list[object]:
    settings = _settings(invocation)
    vms = target_vms(invocation)
    for vm in vms:
        ReplicationLink.enable(vm, settings)
    return [vm_object(vm) for vm in vms] if invocation.switch("Passthru") else []


def get_replication(invocation: Invocation) -> list[object]:
    return [replication_object(vm) for vm in _replicated(invocation)]


def measure_replication(invocation: Invocation) -> list[object]:
    return [statistics_object(vm) for vm in _replicated(invocation)]


def _each_link(action: str) -> Handler:
    """A handler that calls ``ReplicationLink.<action>(vm)`` for every named VM."""

    def handler(invocation: Invocation) -> list[object]:
        for vm in target_vms(invocation):
            getattr(_link(vm), action)(vm)
        return []

    return handler


def resume_replication(invocation: Invocation) -> list[object]:
    resync = invocation.switch("Resynchronize")
    for vm in target_vms(invocation):
        _link(vm).resume(vm, resynchronize=resync)
    return []


def set_replication(invocation: Invocation) -> list[object]:
    for vm in target_vms(invocation):
        link = _link(vm)
        if invocation.switch("Reverse"):
            link.reverse(vm, invocation.text("ReplicaServerName") or None)
        else:
            link.update_settings(vm, **_setting_changes(invocation))
    return []


def _setting_changes(invocation: Invocation) -> dict[str, object]:
    names = {
        "ReplicationFrequencySec": "frequency_sec",
        "RecoveryHistory": "recovery_history",
        "VSSSnapshotFrequencyHour": "vss_frequency_hours",
        "CompressionEnabled": "compression",
        "AutoResynchronizeEnabled": "auto_resynchronize",
    }
    return {field: invocation.get(param) for param, field in names.items() if invocation.has(param)}


# -- failover --------------------------------------------------------------------------


def start_failover(invocation: Invocation) -> list[object]:
    outputs: list[object] = []
    for vm in target_vms(invocation):
        link = _link(vm)
        if invocation.switch("Prepare"):
            link.prepare_failover(vm)
        elif invocation.switch("AsTest"):
            test_vm = link.test_failover(vm)
            outputs.append(vm_object(test_vm))
        else:
            link.failover(vm)
    return outputs if invocation.switch("Passthru") else []


def get_vm_snapshot(invocation: Invocation) -> list[object]:
    wanted = invocation.text("SnapshotType")
    kinds = {SnapshotType.Replica, SnapshotType.AppConsistentReplica}
    if wanted and wanted not in ("Replica", "AppConsistentReplica"):
        kinds = {SnapshotType[wanted]}
    elif wanted == "AppConsistentReplica":
        kinds = {SnapshotType.AppConsistentReplica}
    objects: list[object] = []
    for vm in target_vms(invocation):
        link = vm.replication
        if link is None or link.is_primary(vm):
            continue
        objects.extend(
            snapshot_object(vm, point)
            for point in link.recovery_points
            if point.snapshot_type in kinds
        )
    return objects


def _spec(name: str, params: tuple[Param, ...], handler: Handler, **extra: object) -> CmdletSpec:
    return CmdletSpec(
        name,
        HYPERV_MODULE,
        hyperv_class(name),
        params,
        handler,
        **extra,  # type: ignore[arg-type]
    )


_VM_NAME = Param("VMName", "strings", position=0, mandatory=True)
_VM_PIPE = Param("VM", "objects", pipeline=True)
_OPTIONAL_VM_NAME = Param("VMName", "strings", position=0)
_CONFIRM = Param("Confirm", "switch")
_PASSTHRU = Param("Passthru", "switch")
_FREQUENCY = Param("ReplicationFrequencySec", "int", choices=_FREQUENCY_CHOICES)
_HISTORY = Param("RecoveryHistory", "int", minimum=0, maximum=24)
_VSS = Param("VSSSnapshotFrequencyHour", "int", minimum=1, maximum=12)


def _vm_command(name: str, handler: Handler, *extra: Param) -> CmdletSpec:
    return _spec(
        name, (_VM_NAME, _VM_PIPE, _CONFIRM, _PASSTHRU, *extra), handler, one_of=("VMName",)
    )


SPECS = (
    _spec(
        "Set-VMReplicationServer",
        (
            Param("ReplicationEnabled", "bool", position=0),
            Param("AllowedAuthenticationType", "string", position=1, choices=_AUTH_CHOICES),
            Param("ReplicationAllowedFromAnyServer", "bool", position=2),
            Param("DefaultStorageLocation", "string", position=3),
            Param("KerberosAuthenticationPort", "int", minimum=1, maximum=65535),
            Param("CertificateAuthenticationPort", "int", minimum=1, maximum=65535),
            Param("CertificateThumbprint", "string"),
            Param("Force", "switch"),
            Param("ComputerName", "strings"),
        ),
        set_replication_server,
    ),
    _spec("Get-VMReplicationServer", (Param("ComputerName", "strings"),), get_replication_server),
    _spec(
        "Enable-VMReplication",
        (
            _VM_NAME,
            _VM_PIPE,
            Param("ReplicaServerName", "string", position=1, mandatory=True),
            Param("ReplicaServerPort", "int", position=2, mandatory=True, minimum=1, maximum=65535),
            Param(
                "AuthenticationType",
                "string",
                position=3,
                mandatory=True,
                choices=("Kerberos", "Certificate"),
            ),
            Param("CertificateThumbprint", "string"),
            Param("CompressionEnabled", "bool"),
            _HISTORY,
            _VSS,
            _FREQUENCY,
            Param("AutoResynchronizeEnabled", "bool"),
            _PASSTHRU,
        ),
        enable_replication,
        one_of=("VMName",),
    ),
    _vm_command("Start-VMInitialReplication", _each_link("start_initial")),
    _spec("Get-VMReplication", (_OPTIONAL_VM_NAME, _VM_PIPE), get_replication),
    _spec("Measure-VMReplication", (_OPTIONAL_VM_NAME, _VM_PIPE), measure_replication),
    _vm_command("Suspend-VMReplication", _each_link("suspend")),
    _vm_command("Resume-VMReplication", resume_replication, Param("Resynchronize", "switch")),
    _vm_command("Remove-VMReplication", _each_link("remove")),
    _vm_command(
        "Set-VMReplication",
        set_replication,
        Param("Reverse", "switch"),
        Param("ReplicaServerName", "string"),
        _FREQUENCY,
        _HISTORY,
        _VSS,
        Param("CompressionEnabled", "bool"),
        Param("AutoResynchronizeEnabled", "bool"),
    ),
    _spec(
        "Start-VMFailover",
        (
            _VM_NAME,
            _VM_PIPE,
            Param("Prepare", "switch"),
            Param("AsTest", "switch"),
            _CONFIRM,
            _PASSTHRU,
        ),
        start_failover,
        exclusive=(("Prepare", "AsTest"),),
        one_of=("VMName",),
    ),
    _vm_command("Complete-VMFailover", _each_link("complete_failover")),
    _vm_command("Stop-VMFailover", _each_link("stop_failover")),
    _spec(
        "Get-VMSnapshot",
        (_VM_NAME, _VM_PIPE, Param("SnapshotType", "string", choices=_SNAPSHOT_CHOICES)),
        get_vm_snapshot,
        one_of=("VMName",),
    ),
)
