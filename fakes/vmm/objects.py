"""How the VMM server's objects look in PowerShell: the VMM cmdlets' output objects.

Each builder returns a :class:`PSObject` with the VMM type name and the
properties a script can select, with their .NET types (GUIDs, enums written
as integers by ``ConvertTo-Json``, nested VMM objects). ``native`` keeps the
model object so that a downstream cmdlet in a pipeline (``Get-SCCloud |
Get-SCCloudCapacity``) can follow it.
"""

from __future__ import annotations

import uuid

from fakes.hyperv.enums import VMState
from fakes.hyperv.host import NetworkAdapter, VirtualMachine
from fakes.hyperv.powershell.values import PSObject
from fakes.vmm.model import (
    Cloud,
    CommunicationState,
    HostGroup,
    LogicalNetwork,
    ManagedHost,
    VMComputerSystemState,
    VMNetwork,
)
from fakes.vmm.server import MIB, PRODUCT_VERSION, VmmServer

_NS = "Microsoft.SystemCenter.VirtualMachineManager."
_STATUS = {
    VMState.Running: VMComputerSystemState.Running,
    VMState.Off: VMComputerSystemState.PowerOff,
    VMState.Saved: VMComputerSystemState.Saved,
    VMState.Paused: VMComputerSystemState.Paused,
}


def server_object(server: VmmServer) -> PSObject:
    properties: dict[str, object] = {
        "Name": server.name,
        "FQDN": server.fqdn,
        "Port": server.port,
        "ProductVersion": PRODUCT_VERSION,
        "IsConnected": True,
        "UserRoleProfile": "Administrator",
    }
    return PSObject(_NS + "Remoting.ServerConnection", properties, native=server)


def host_group_object(group: HostGroup) -> PSObject:
    parent = host_group_object(group.parent) if group.parent is not None else None
    properties: dict[str, object] = {
        "Name": group.name,
        "ID": group.id,
        "Path": group.path,
        "ParentHostGroup": parent,
        "IsRoot": group.parent is None,
        "Description": "",
    }
    return PSObject(_NS + "HostGroup", properties, native=group)


def host_object(managed: ManagedHost) -> PSObject:
    host = managed.host
    state = (
        CommunicationState.Responding if managed.responding else CommunicationState.NotResponding
    )
    properties: dict[str, object] = {
        "Name": host.fqdn,
        "ComputerName": host.name,
        "FQDN": host.fqdn,
        "ID": managed.id,
        "VMHostGroup": host_group_object(managed.group),
        "CommunicationState": state,
        "VirtualizationPlatform": "HyperV",
        "LogicalProcessorCount": host.processors,
        "TotalMemory": host.memory,
    }
    return PSObject(_NS + "Host", properties, native=managed)


def logical_network_object(network: LogicalNetwork) -> PSObject:
    properties: dict[str, object] = {
        "Name": network.name,
        "ID": network.id,
        "NetworkVirtualizationEnabled": network.network_virtualization,
        "Description": "",
    }
    return PSObject(_NS + "LogicalNetwork", properties, native=network)


def vm_network_object(network: VMNetwork) -> PSObject:
    properties: dict[str, object] = {
        "Name": network.name,
        "ID": network.id,
        "LogicalNetwork": logical_network_object(network.logical_network),
        "IsolationType": network.isolation,
        "Description": "",
    }
    return PSObject(_NS + "VMNetwork", properties, native=network)


def cloud_object(cloud: Cloud) -> PSObject:
    properties: dict[str, object] = {
        "Name": cloud.name,
        "ID": cloud.id,
        "Description": cloud.description,
        "HostGroup": [host_group_object(group) for group in cloud.host_groups],
        "LogicalNetworks": [logical_network_object(n) for n in cloud.logical_networks],
        "CapabilityProfiles": list(cloud.capability_profiles),
        "IsViewOnly": False,
    }
    return PSObject(_NS + "Cloud", properties, native=cloud)


def _quota(value: int | None) -> tuple[int, bool]:
    """A quota and its "Use maximum" flag (True: unlimited)."""
    return (0, True) if value is None else (value, False)


def capacity_object(cloud: Cloud) -> PSObject:
    capacity = cloud.capacity
    vms, vms_max = _quota(capacity.vm_count)
    memory, memory_max = _quota(capacity.memory_mb)
    cpus, cpus_max = _quota(capacity.cpu_count)
    storage, storage_max = _quota(capacity.storage_gb)
    properties: dict[str, object] = {
        "Cloud": cloud_object(cloud),
        "VMCount": vms,
        "UseVMCountMaximum": vms_max,
        "MemoryMB": memory,
        "UseMemoryMBMaximum": memory_max,
        "CPUCount": cpus,
        "UseCPUCountMaximum": cpus_max,
        "StorageGB": storage,
        "UseStorageGBMaximum": storage_max,
    }
    return PSObject(_NS + "CloudCapacity", properties, native=cloud)


def usage_object(server: VmmServer, cloud: Cloud) -> PSObject:
    usage = server.usage(cloud)
    properties: dict[str, object] = {
        "Cloud": cloud_object(cloud),
        "VMUsageCount": usage.vm_count,
        "MemoryUsageMB": usage.memory_mb,
        "CPUUsageCount": usage.cpu_count,
        "StorageUsageGB": usage.storage_gb,
    }
    return PSObject(_NS + "CloudUsage", properties, native=cloud)


def vm_object(server: VmmServer, vm: VirtualMachine, managed: ManagedHost) -> PSObject:
    placement = server.placement(vm)
    status = _STATUS.get(vm.state, VMComputerSystemState.Stopped)
    cloud = placement.cloud
    properties: dict[str, object] = {
        "Name": vm.name,
        "ID": placement.id,
        "VMId": vm.vm_id.upper(),
        "Status": status,
        "StatusString": _status_text(status),
        "HostName": managed.host.fqdn,
        "VMHost": host_object(managed),
        "Cloud": cloud_object(cloud) if cloud is not None else None,
        "HostGroupPath": managed.group.path,
        "CPUCount": vm.processor_count,
        "Memory": vm.memory_startup // MIB,
        "Generation": vm.generation,
        "VirtualizationPlatform": "HyperV",
        "Owner": "",
        "Description": "",
    }
    return PSObject(_NS + "VM", properties, native=vm)


def _status_text(status: VMComputerSystemState) -> str:
    return {VMComputerSystemState.PowerOff: "Stopped"}.get(status, status.name)


def adapter_object(
    server: VmmServer, vm: VirtualMachine, slot: int, adapter: NetworkAdapter
) -> PSObject:
    network = server.placement(vm).networks.get(adapter.mac_address)
    running = vm.state is VMState.Running
    properties: dict[str, object] = {
        "Name": vm.name,
        "ID": uuid.uuid5(uuid.NAMESPACE_URL, adapter.adapter_id),
        "SlotId": slot,
        "MACAddress": _colon_mac(adapter.mac_address),
        "MACAddressType": "Dynamic",
        "VMNetwork": vm_network_object(network) if network is not None else None,
        "LogicalNetwork": network.logical_network.name if network is not None else None,
        "VirtualNetwork": adapter.switch_name,
        "IPv4Addresses": list(adapter.ip_addresses) if running else [],
    }
    return PSObject(_NS + "VirtualNetworkAdapter", properties, native=adapter)


def _colon_mac(mac: str) -> str:
    """``00155D0A0B0C`` -> ``00:15:5D:0A:0B:0C``, as VMM writes MAC addresses."""
    return ":".join(mac[index : index + 2] for index in range(0, len(mac), 2))


def virtual_network_object(managed: ManagedHost, switch: str) -> PSObject:
    """A host's virtual switch as VMM shows it (``Get-SCVirtualNetwork``)."""
    carried = managed.uplinks.get(switch, [])
    hyperv_switch = next(s for s in managed.host.switches if s.name == switch)
    properties: dict[str, object] = {
        "Name": switch,
        # VMM's own object id, not the Hyper-V switch's: a client matches switches by name.
        "ID": uuid.uuid5(uuid.NAMESPACE_URL, f"{managed.id}/{hyperv_switch.id}"),
        "VMHost": host_object(managed),
        "LogicalNetworks": [logical_network_object(n) for n in carried],
        "Description": "",
    }
    return PSObject(_NS + "VirtualNetwork", properties, native=hyperv_switch)
