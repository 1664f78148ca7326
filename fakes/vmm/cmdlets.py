"""The VMM cmdlets a fake VMM server answers (module ``virtualmachinemanager``).

Get-SCVMMServer, Get-SCVMHostGroup, Get-SCVMHost, Get-SCCloud,
Get-SCCloudCapacity, Get-SCCloudUsage, Get-SCLogicalNetwork, Get-SCVMNetwork,
Get-SCVirtualNetwork (a host's virtual switches and the logical networks they
carry), Get-SCVirtualMachine, Get-SCVirtualNetworkAdapter.

As in VMM, a script run on the VMM server needs no ``Get-SCVMMServer``
first (the cmdlets connect to the local server); ``Get-SCVMMServer`` checks
the name and port it is given. ``Get-*`` cmdlets filtered by ``-Name`` that
find nothing write nothing (no error), like VMM's. While the VMM service is
stopped every cmdlet fails with error 1605; a cmdlet set to fail
(``server.faults.failing_cmdlets``) fails with error 2606.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fakes.hyperv.host import VirtualMachine
from fakes.hyperv.powershell import errors
from fakes.hyperv.powershell.commands import CmdletSpec, Handler, Invocation, Param
from fakes.hyperv.powershell.values import PSObject, to_string
from fakes.vmm import objects
from fakes.vmm.errors import internal_error, name_not_resolved, port_refused, service_not_running
from fakes.vmm.model import Cloud, HostGroup, LogicalNetwork, ManagedHost
from fakes.vmm.server import DEFAULT_PORT, VmmServer

VMM_MODULE = "virtualmachinemanager"
_LOCAL_NAMES = frozenset(["localhost", "127.0.0.1", "."])


def vmm_class(name: str) -> str:
    """``Get-SCCloud`` -> ``...VirtualMachineManager.Cmdlets.GetSCCloudCmdlet`` (error ids)."""
    return (
        "Microsoft.SystemCenter.VirtualMachineManager.Cmdlets." + name.replace("-", "") + "Cmdlet"
    )


def server_of(invocation: Invocation) -> VmmServer:
    """The VMM server running the script (the interpreter's "host")."""
    server: object = invocation.host
    if not isinstance(server, VmmServer):
        raise TypeError(f"VMM cmdlets run on a VmmServer, not {type(server).__name__}")
    return server


def _service_checked(name: str, handler: Handler) -> Handler:
    """The handler behind the server's fault switches (service stopped, cmdlet failing)."""

    def run(invocation: Invocation) -> list[object]:
        server = server_of(invocation)
        if server.faults.service_stopped:
            raise service_not_running(server.name)
        detail = server.faults.failure_of(name)
        if detail is not None:
            raise internal_error(server.name, detail)
        return handler(invocation)

    return run


def _named(
    items: Iterable[object], invocation: Invocation, name_of: Callable[[object], str]
) -> list[object]:
    """Items whose name is one of ``-Name`` (no case); all of them without ``-Name``."""
    wanted = {name.lower() for name in invocation.texts("Name")}
    return [item for item in items if not wanted or name_of(item).lower() in wanted]


def _natives(value: object, kind: type, parameter: str) -> list[object]:
    """The model objects behind a parameter value or pipeline input of VMM objects."""
    items = value if isinstance(value, list) else [value]
    natives = []
    for item in items:
        native = item.native if isinstance(item, PSObject) else None
        if not isinstance(native, kind):
            raise errors.cannot_convert(
                parameter,
                to_string(item),
                f"Microsoft.SystemCenter.VirtualMachineManager.{kind.__name__}",
                "Invalid cast.",
            )
        natives.append(native)
    return natives


def _argument_or_input(invocation: Invocation, parameter: str, kind: type) -> list[object]:
    if invocation.has(parameter):
        return _natives(invocation.get(parameter), kind, parameter)
    return _natives(list(invocation.input or []), kind, parameter)


# -- server, host groups, hosts --------------------------------------------------------


def get_vmm_server(invocation: Invocation) -> list[object]:
    server = server_of(invocation)
    computer = invocation.text("ComputerName")
    names = {server.name.lower(), server.fqdn.lower(), server.address.lower(), *_LOCAL_NAMES}
    if computer.lower() not in names:
        raise name_not_resolved(computer)
    port = invocation.number("TCPPort", DEFAULT_PORT)
    if port != server.port:
        raise port_refused(computer, port)
    if server.faults.service_stopped:
        raise service_not_running(computer)
    return [objects.server_object(server)]


def get_host_group(invocation: Invocation) -> list[object]:
    groups = _named(server_of(invocation).host_groups, invocation, _group_name)
    return [objects.host_group_object(group) for group in groups if isinstance(group, HostGroup)]


def _group_name(item: object) -> str:
    return item.name if isinstance(item, HostGroup) else ""


def get_vm_host(invocation: Invocation) -> list[object]:
    server = server_of(invocation)
    hosts = list(server.hosts)
    names = {name.lower() for name in invocation.texts("ComputerName")}
    if names:
        hosts = [m for m in hosts if {m.host.name.lower(), m.host.fqdn.lower()} & names]
    if invocation.has("VMHostGroup"):
        groups = _natives(invocation.get("VMHostGroup"), HostGroup, "VMHostGroup")
        hosts = [
            m for m in hosts if any(m.group.within(g) for g in groups if isinstance(g, HostGroup))
        ]
    return [objects.host_object(managed) for managed in hosts]


# -- clouds ----------------------------------------------------------------------------


def get_cloud(invocation: Invocation) -> list[object]:
    clouds = _named(server_of(invocation).clouds, invocation, _cloud_name)
    return [objects.cloud_object(cloud) for cloud in clouds if isinstance(cloud, Cloud)]


def _cloud_name(item: object) -> str:
    return item.name if isinstance(item, Cloud) else ""


def get_cloud_capacity(invocation: Invocation) -> list[object]:
    clouds = _argument_or_input(invocation, "Cloud", Cloud)
    return [objects.capacity_object(cloud) for cloud in clouds if isinstance(cloud, Cloud)]


def get_cloud_usage(invocation: Invocation) -> list[object]:
    server = server_of(invocation)
    clouds = _argument_or_input(invocation, "Cloud", Cloud)
    return [objects.usage_object(server, cloud) for cloud in clouds if isinstance(cloud, Cloud)]


# -- networks --------------------------------------------------------------------------


def get_logical_network(invocation: Invocation) -> list[object]:
    networks = _named(server_of(invocation).logical_networks, invocation, _network_name)
    return [objects.logical_network_object(n) for n in networks if isinstance(n, LogicalNetwork)]


def _network_name(item: object) -> str:
    return str(getattr(item, "name", ""))


def get_vm_network(invocation: Invocation) -> list[object]:
    networks = _named(server_of(invocation).vm_networks, invocation, _network_name)
    if invocation.has("LogicalNetwork"):
        logical = _natives(invocation.get("LogicalNetwork"), LogicalNetwork, "LogicalNetwork")
        networks = [n for n in networks if getattr(n, "logical_network", None) in logical]
    return [objects.vm_network_object(n) for n in networks]  # type: ignore[arg-type]


def get_virtual_network(invocation: Invocation) -> list[object]:
    """The virtual switches of managed hosts (all hosts, or ``-VMHost``), with their uplinks."""
    server = server_of(invocation)
    hosts = (
        _hosts_named(server, invocation.get("VMHost"))
        if invocation.has("VMHost")
        else list(server.hosts)
    )
    wanted = {name.lower() for name in invocation.texts("Name")}
    return [
        objects.virtual_network_object(managed, switch.name)
        for managed in hosts
        for switch in managed.host.switches
        if not wanted or switch.name.lower() in wanted
    ]


# -- virtual machines ------------------------------------------------------------------


def get_virtual_machine(invocation: Invocation) -> list[object]:
    server = server_of(invocation)
    found = server.vms()
    wanted = {name.lower() for name in invocation.texts("Name")}
    if wanted:
        found = [(vm, m) for vm, m in found if vm.name.lower() in wanted]
    if invocation.has("Cloud"):
        clouds = _natives(invocation.get("Cloud"), Cloud, "Cloud")
        found = [(vm, m) for vm, m in found if server.placement(vm).cloud in clouds]
    if invocation.has("VMHost"):
        hosts = _hosts_named(server, invocation.get("VMHost"))
        found = [(vm, m) for vm, m in found if m in hosts]
    return [objects.vm_object(server, vm, managed) for vm, managed in found]


def _hosts_named(server: VmmServer, value: object) -> list[ManagedHost]:
    """``-VMHost`` takes host objects, or host names that VMM resolves."""
    hosts: list[ManagedHost] = []
    for item in value if isinstance(value, list) else [value]:
        native = item.native if isinstance(item, PSObject) else server.find_managed(to_string(item))
        if not isinstance(native, ManagedHost):
            raise errors.cannot_convert(
                "VMHost",
                to_string(item),
                "Microsoft.SystemCenter.VirtualMachineManager.Host",
                "The host is not managed by VMM.",
            )
        hosts.append(native)
    return hosts


def get_virtual_network_adapter(invocation: Invocation) -> list[object]:
    server = server_of(invocation)
    vms: list[object] = (
        [vm for vm, _ in server.vms()]
        if invocation.switch("All")
        else _argument_or_input(invocation, "VM", VirtualMachine)
    )
    return [
        objects.adapter_object(server, vm, slot, adapter)
        for vm in vms
        if isinstance(vm, VirtualMachine)
        for slot, adapter in enumerate(vm.adapters)
    ]


# -- the specs -------------------------------------------------------------------------

_SERVER = Param("VMMServer", "object")
_NAME = Param("Name", "strings", position=0)


def _spec(name: str, params: tuple[Param, ...], handler: Handler, **extra: object) -> CmdletSpec:
    checked = handler if name == "Get-SCVMMServer" else _service_checked(name, handler)
    return CmdletSpec(name, VMM_MODULE, vmm_class(name), params, checked, **extra)  # type: ignore[arg-type]


SPECS = (
    _spec(
        "Get-SCVMMServer",
        (
            Param("ComputerName", "string", mandatory=True, position=0),
            Param("TCPPort", "int", minimum=1, maximum=65535),
            Param("Credential", "object"),
        ),
        get_vmm_server,
    ),
    _spec("Get-SCVMHostGroup", (_NAME, _SERVER), get_host_group),
    _spec(
        "Get-SCVMHost",
        (Param("ComputerName", "strings", position=0), Param("VMHostGroup", "object"), _SERVER),
        get_vm_host,
    ),
    _spec("Get-SCCloud", (_NAME, _SERVER), get_cloud),
    _spec(
        "Get-SCCloudCapacity",
        (Param("Cloud", "object", mandatory=True, pipeline=True), _SERVER),
        get_cloud_capacity,
    ),
    _spec(
        "Get-SCCloudUsage",
        (Param("Cloud", "object", mandatory=True, pipeline=True), _SERVER),
        get_cloud_usage,
    ),
    _spec("Get-SCLogicalNetwork", (_NAME, _SERVER), get_logical_network),
    _spec("Get-SCVMNetwork", (_NAME, Param("LogicalNetwork", "object"), _SERVER), get_vm_network),
    _spec(
        "Get-SCVirtualNetwork",
        (_NAME, Param("VMHost", "object"), _SERVER),
        get_virtual_network,
    ),
    _spec(
        "Get-SCVirtualMachine",
        (
            _NAME,
            Param("Cloud", "object"),
            Param("VMHost", "object"),
            Param("All", "switch"),
            _SERVER,
        ),
        get_virtual_machine,
    ),
    _spec(
        "Get-SCVirtualNetworkAdapter",
        (Param("VM", "object", mandatory=True, pipeline=True), Param("All", "switch"), _SERVER),
        get_virtual_network_adapter,
        exclusive=(("VM", "All"),),
        one_of=("VM", "All"),
    ),
)
