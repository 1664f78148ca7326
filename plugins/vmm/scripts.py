"""The catalog of every PowerShell script the vmm plugin sends to a VMM server.

Same contract as the hyperv plugin's scripts (``docs/hyperv-scripts.md``):
the fixed prologue and epilogue, values only through ``ps_quote`` and
``ps_int``, enums and GUIDs stringified in calculated properties, nested VMM
objects reduced to scalars (``$_.Cloud.Name``, ``[string]$_.Cloud.ID``).
Every script first runs ``Get-SCVMMServer -ComputerName <server> -TCPPort
<port>``, so a wrong name, a closed port or a stopped VMM service fails the
script before anything else is read.
"""

from __future__ import annotations

from plugins.hyperv.quoting import ps_int, ps_quote
from plugins.hyperv.scripts import Script, combined


def _text(prop: str, expression: str = "") -> str:
    """``@{n='prop';e={[string]$_.<expression>}}`` (expression defaults to ``prop``)."""
    return f"@{{n='{prop}';e={{[string]$_.{expression or prop}}}}}"


def _value(prop: str, expression: str) -> str:
    """``@{n='prop';e={$_.<expression>}}``: a nested property, kept as it is."""
    return f"@{{n='{prop}';e={{$_.{expression}}}}}"


def _select(*props: str) -> str:
    return "Select-Object " + ", ".join(props)


SERVER_SELECT = _select("Name", "FQDN", "Port", _text("ProductVersion"))
GROUP_SELECT = _select("Name", _text("ID"), "Path")
HOST_SELECT = _select(
    "Name",
    "ComputerName",
    _text("ID"),
    _value("HostGroup", "VMHostGroup.Path"),
    _text("CommunicationState"),
)
CLOUD_SELECT = _select(
    "Name",
    _text("ID"),
    _value("HostGroups", "HostGroup.Path"),
    _value("LogicalNetworkIds", "LogicalNetworks.ID"),
)
CAPACITY_SELECT = _select(
    _text("CloudId", "Cloud.ID"),
    "VMCount",
    "UseVMCountMaximum",
    "MemoryMB",
    "UseMemoryMBMaximum",
    "CPUCount",
    "UseCPUCountMaximum",
)
USAGE_SELECT = _select(
    _text("CloudId", "Cloud.ID"), "VMUsageCount", "MemoryUsageMB", "CPUUsageCount"
)
LOGICAL_SELECT = _select("Name", _text("ID"))
VMNETWORK_SELECT = _select(
    "Name", _text("ID"), _text("LogicalNetworkId", "LogicalNetwork.ID"), _text("IsolationType")
)
VM_SELECT = _select(
    "Name", "VMId", _text("Status"), "HostName", _text("CloudId", "Cloud.ID"), "CPUCount", "Memory"
)
ADAPTER_SELECT = _select(
    "Name", "SlotId", "MACAddress", _text("VMNetworkId", "VMNetwork.ID"), "IPv4Addresses"
)
LOCATE_SELECT = _select("Name", "VMId", "HostName")
VMNETWORK_LOGICAL_SELECT = _select(_text("ID"), _text("LogicalNetworkId", "LogicalNetwork.ID"))
SWITCH_SELECT = _select(
    "Name", _text("HostName", "VMHost.Name"), _value("LogicalNetworkIds", "LogicalNetworks.ID")
)


def _connect(server: str, port: int) -> str:
    return f"Get-SCVMMServer -ComputerName {ps_quote(server)} -TCPPort {ps_int(port)}"


def connect(server: str, port: int) -> Script:
    """The VMM server's identity (connect and tell a VMM server)."""
    return combined("Get-SCVMMServer", [("Server", f"{_connect(server, port)} | {SERVER_SELECT}")])


def discover(server: str, port: int) -> Script:
    """Everything discovery needs from the VMM server, in one round trip."""
    return combined(
        "Discover-VMM",
        [
            ("Server", f"{_connect(server, port)} | {SERVER_SELECT}"),
            ("HostGroups", f"Get-SCVMHostGroup | {GROUP_SELECT}"),
            ("Hosts", f"Get-SCVMHost | {HOST_SELECT}"),
            ("Clouds", f"Get-SCCloud | {CLOUD_SELECT}"),
            ("Capacity", f"Get-SCCloud | Get-SCCloudCapacity | {CAPACITY_SELECT}"),
            ("Usage", f"Get-SCCloud | Get-SCCloudUsage | {USAGE_SELECT}"),
            ("LogicalNetworks", f"Get-SCLogicalNetwork | {LOGICAL_SELECT}"),
            ("VMNetworks", f"Get-SCVMNetwork | {VMNETWORK_SELECT}"),
            ("VMs", f"Get-SCVirtualMachine | {VM_SELECT}"),
            ("Adapters", f"Get-SCVirtualMachine | Get-SCVirtualNetworkAdapter | {ADAPTER_SELECT}"),
        ],
    )


def locate_vms(server: str, port: int) -> Script:
    """Which host each VM is on now (VMs move between hosts of a cloud)."""
    return combined(
        "Get-SCVirtualMachine",
        [
            ("Server", f"{_connect(server, port)} | {SERVER_SELECT}"),
            ("VMs", f"Get-SCVirtualMachine | {LOCATE_SELECT}"),
        ],
    )


def replica_networks(server: str, port: int) -> Script:
    """What a failover toward the VMM server's cloud needs beyond discovery, in one round trip.

    Each VM network's logical network, each host switch's logical networks
    (``Get-SCVirtualNetwork``: which switch backs a VM network on a host),
    and each VM's size (for the cloud's capacity).
    """
    return combined(
        "Get-SCVirtualNetwork",
        [
            ("Server", f"{_connect(server, port)} | {SERVER_SELECT}"),
            ("VMNetworks", f"Get-SCVMNetwork | {VMNETWORK_LOGICAL_SELECT}"),
            ("Switches", f"Get-SCVirtualNetwork | {SWITCH_SELECT}"),
            ("VMs", f"Get-SCVirtualMachine | {VM_SELECT}"),
        ],
    )
