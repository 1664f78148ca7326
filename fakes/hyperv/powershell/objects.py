"""How the fake host's model objects look in PowerShell: the cmdlets' output objects.

Each builder returns a :class:`PSObject` with the real type name and the
properties (with their real .NET types: enums, Guid, DateTime, Int64) that
``Select-Object`` and ``ConvertTo-Json`` then see. ``native`` keeps the
model object, so a downstream cmdlet in a pipeline can follow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fakes.hyperv.enums import VMState
from fakes.hyperv.powershell.values import PSObject, PSVersion, from_timestamp

if TYPE_CHECKING:
    from fakes.hyperv.host import (
        HardDiskDrive,
        HyperVHost,
        NetworkAdapter,
        Vhd,
        VirtualMachine,
        VMSwitch,
    )
    from fakes.hyperv.replication import RecoveryPoint

HOST_VERSION = PSVersion(10, 0, 20348, 0)
_NS = "Microsoft.HyperV.PowerShell."


def vmhost_object(host: HyperVHost) -> PSObject:
    properties: dict[str, object] = {
        "Name": host.name,
        "ComputerName": host.name,
        "FullyQualifiedDomainName": host.fqdn,
        "LogicalProcessorCount": host.processors,
        "MemoryCapacity": host.memory,
        "VirtualHardDiskPath": "C:\\ProgramData\\Microsoft\\Windows\\Virtual Hard Disks",
        "VirtualMachinePath": host.vm_folder,
        "Version": HOST_VERSION,
    }
    return PSObject(_NS + "VMHost", properties, native=host)


def vm_object(vm: VirtualMachine) -> PSObject:
    state, health, mode = vm.replication_view()
    running = vm.state is VMState.Running
    properties: dict[str, object] = {
        "Name": vm.name,
        "Id": vm.id,
        "VMId": vm.id,
        "VMName": vm.name,
        "State": vm.state,
        "Status": "Operating normally",
        "Generation": vm.generation,
        "ProcessorCount": vm.processor_count,
        "MemoryStartup": vm.memory_startup,
        "MemoryAssigned": vm.memory_startup if running else 0,
        "DynamicMemoryEnabled": False,
        "ReplicationState": state,
        "ReplicationHealth": health,
        "ReplicationMode": mode,
        "ComputerName": vm.host.name,
        "Path": f"{vm.host.vm_folder}\\{vm.name}",
        "Version": "10.0",
        "IsClustered": False,
        "Notes": "",
    }
    return PSObject(_NS + "VirtualMachine", properties, native=vm)


def drive_object(vm: VirtualMachine, drive: HardDiskDrive) -> PSObject:
    properties: dict[str, object] = {
        "VMName": vm.name,
        "VMId": vm.id,
        "Name": drive.name,
        "Path": drive.vhd.path,
        "ControllerType": drive.controller_type,
        "ControllerNumber": drive.controller_number,
        "ControllerLocation": drive.controller_location,
        "DiskNumber": None,
        "ComputerName": vm.host.name,
    }
    return PSObject(_NS + "HardDiskDrive", properties, native=drive)


def vhd_object(host: HyperVHost, vhd: Vhd, attached: bool) -> PSObject:
    properties: dict[str, object] = {
        "ComputerName": host.name,
        "Path": vhd.path,
        "VhdFormat": vhd.vhd_format,
        "VhdType": vhd.vhd_type,
        "FileSize": vhd.file_size,
        "Size": vhd.size,
        "MinimumSize": vhd.size,
        "LogicalSectorSize": 512,
        "PhysicalSectorSize": 4096,
        "BlockSize": 32 << 20,
        "ParentPath": None,
        "DiskIdentifier": vhd.disk.disk_id.upper(),
        "Attached": attached,
    }
    return PSObject("Microsoft.Vhd.PowerShell.VirtualHardDisk", properties, native=vhd)


def adapter_object(vm: VirtualMachine, adapter: NetworkAdapter) -> PSObject:
    properties: dict[str, object] = {
        "Name": adapter.name,
        "VMName": vm.name,
        "VMId": vm.id,
        "Id": adapter.adapter_id,
        "MacAddress": adapter.mac_address,
        "SwitchName": adapter.switch_name,
        "Connected": adapter.switch_name is not None,
        "IPAddresses": list(adapter.ip_addresses) if vm.state is VMState.Running else [],
        "IsManagementOs": False,
        "Status": ["Ok"],
        "ComputerName": vm.host.name,
    }
    return PSObject(_NS + "VMNetworkAdapter", properties, native=adapter)


def switch_object(host: HyperVHost, switch: VMSwitch) -> PSObject:
    properties: dict[str, object] = {
        "Name": switch.name,
        "Id": switch.id,
        "SwitchType": switch.switch_type,
        "NetAdapterInterfaceDescription": "Fake Ethernet Adapter" if switch.switch_type else "",
        "ComputerName": host.name,
    }
    return PSObject(_NS + "VMSwitch", properties, native=switch)


def replication_object(vm: VirtualMachine) -> PSObject:
    link = vm.replication
    assert link is not None
    state, health, mode = vm.replication_view()
    settings = link.settings
    last = link.last_replication_time
    properties: dict[str, object] = {
        "VMName": vm.name,
        "VMId": vm.id,
        "State": state,
        "Health": health,
        "Mode": mode,
        "FrequencySec": settings.frequency_sec,
        "ReplicationFrequencySec": settings.frequency_sec,
        "PrimaryServer": link.primary.host.fqdn,
        "ReplicaServer": link.replica.host.fqdn,
        "CurrentReplicaServerName": link.replica.host.fqdn,
        "ReplicaServerPort": settings.replica_port,
        "AuthenticationType": settings.authentication,
        "CompressionEnabled": settings.compression,
        "RecoveryHistory": settings.recovery_history,
        "VSSSnapshotFrequencyHour": settings.vss_frequency_hours,
        "AutoResynchronizeEnabled": settings.auto_resynchronize,
        "LastReplicationTime": from_timestamp(last) if last is not None else None,
        "ReplicationState": state,
        "ReplicationHealth": health,
        "ReplicationMode": mode,
        "TestVirtualMachineName": link.test_vm.name if link.test_vm is not None else None,
        "ComputerName": vm.host.name,
    }
    return PSObject(_NS + "VMReplication", properties, native=link)


def replication_server_object(host: HyperVHost) -> PSObject:
    server = host.replication_server
    properties: dict[str, object] = {
        "ComputerName": host.name,
        "ReplicationEnabled": server.enabled,
        "AllowedAuthenticationType": server.allowed_authentication,
        "ReplicationAllowedFromAnyServer": server.allowed_from_any_server,
        "DefaultStorageLocation": server.storage_location,
        "KerberosAuthenticationPort": server.kerberos_port,
        "CertificateAuthenticationPort": server.certificate_port,
        "CertificateThumbprint": server.certificate_thumbprint or None,
    }
    return PSObject(_NS + "VMReplicationServer", properties, native=server)


def statistics_object(vm: VirtualMachine) -> PSObject:
    link = vm.replication
    assert link is not None
    state, health, mode = vm.replication_view()
    now = vm.host.now()
    last = link.last_replication_time
    sizes = link.sizes or [0]
    properties: dict[str, object] = {
        "VMName": vm.name,
        "State": state,
        "Health": health,
        "Mode": mode,
        "ReplicationState": state,
        "ReplicationHealth": health,
        "ReplicationMode": mode,
        "LastReplicationTime": from_timestamp(last) if last is not None else None,
        "PendingReplicationSize": link.pending_bytes(vm),
        "AverageReplicationSize": sum(sizes) // len(sizes),
        "MaximumReplicationSize": max(sizes),
        "ReplicationErrors": link.errors,
        "SuccessfulReplicationCount": sum(1 for _, ok in link.outcomes if ok),
        "MissedReplicationCount": link.missed_cycles(now),
        "MonitoringStartTime": from_timestamp(link.enabled_at),
        "MonitoringEndTime": from_timestamp(now),
        "ComputerName": vm.host.name,
    }
    return PSObject(_NS + "VMReplicationStatistics", properties, native=link)


def snapshot_object(vm: VirtualMachine, point: RecoveryPoint) -> PSObject:
    properties: dict[str, object] = {
        "Name": point.name,
        "Id": point.id,
        "VMName": vm.name,
        "VMId": vm.id,
        "SnapshotType": point.snapshot_type,
        "CreationTime": from_timestamp(point.created),
        "ParentSnapshotName": None,
        "ComputerName": vm.host.name,
    }
    return PSObject(_NS + "VMSnapshot", properties, native=point)
