"""What the vmm plugin serves: the "vmm" fabric kind and the "vmm-replica" target kind.

A ``vmm`` fabric is a VMM server and its clouds; a ``vmm-replica`` target is
a secondary VMM server and one of its clouds, receiving Hyper-V Replica
replicas (:mod:`plugins.vmm.native`).

The provider is registered on the VMM server, not on each host. The VMM
registration's account also reaches the Hyper-V hosts of its clouds (the
host management Run As account of VMM deployments), where the SrpAgent
module does the change tracking; see :mod:`plugins.vmm.hosts`.
"""

from __future__ import annotations

from dataclasses import replace

from plugins.hyperv.kinds import COPY_FREQUENCIES
from plugins.hyperv.kinds import PARAMETERS as HYPERV_PARAMETERS
from provider.contracts.declarations import (
    Capabilities,
    ConnectionParameter,
    DataPath,
    FabricKind,
    FailoverMode,
    ParameterType,
    TargetKind,
)

KIND = "vmm"
REPLICA_KIND = "vmm-replica"
#: VMM's management port (``Get-SCVMMServer -TCPPort``).
DEFAULT_VMM_PORT = 8100

_VMM_PARAMETERS = (
    ConnectionParameter(
        "vmm_server",
        description="the VMM server's name for Get-SCVMMServer (default: the address's host)",
    ),
    ConnectionParameter(
        "vmm_port",
        ParameterType.INTEGER,
        default=str(DEFAULT_VMM_PORT),
        description="VMM management port",
    ),
    ConnectionParameter(
        "host_port",
        ParameterType.INTEGER,
        description="WinRM port of the Hyper-V hosts (default 5985 http, 5986 https)",
    ),
    ConnectionParameter(
        "host_endpoints",
        description=(
            "where a host's WinRM is when not at its FQDN (NAT, labs): "
            "'hv01=http://10.0.0.5:5985/wsman,hv02=...' by host name or FQDN"
        ),
    ),
)


def _host_facing(parameter: ConnectionParameter) -> ConnectionParameter:
    if parameter.name == "port":
        return replace(parameter, description="WinRM port of the VMM server")
    return parameter


PARAMETERS = (
    *(_host_facing(p) for p in HYPERV_PARAMETERS if p.name != "site"),
    *_VMM_PARAMETERS,
)

VMM = FabricKind(
    kind=KIND,
    title="System Center VMM server and its clouds (WinRM)",
    parameters=PARAMETERS,
    capabilities=Capabilities(
        copy_frequencies=COPY_FREQUENCIES,
        app_consistent=True,
        failover_modes=(
            FailoverMode.TEST,
            FailoverMode.PLANNED,
            FailoverMode.UNPLANNED,
            FailoverMode.FAILBACK,
        ),
        failback_to=(KIND,),
        multi_machine_groups=True,
        reverse_replication=True,
        max_retention_hours=24,
    ),
    default_port=5985,
)

_REPLICA_PARAMETERS = (
    ConnectionParameter(
        "cloud",
        required=True,
        description="the secondary VMM cloud (name or id) that receives the replicas",
    ),
    ConnectionParameter(
        "username", description="the VMM Run As account; it also reaches the hosts of both sites"
    ),
    ConnectionParameter(
        "replica_host",
        description="the host of the cloud that receives replicas (default: VMM placement)",
    ),
    ConnectionParameter(
        "replica_storage_path",
        description="where a host made a Replica server at protection keeps replicas",
    ),
    ConnectionParameter(
        "reverse_storage_path",
        description="where the original host keeps replicas when replicating in reverse",
    ),
    ConnectionParameter(
        "group_book",
        description=(
            "file where the target remembers its groups (primary host, VMs, direction); "
            "default: a file in the state directory srp keeps for the target"
        ),
    ),
)

VMM_REPLICA = TargetKind(
    kind=REPLICA_KIND,
    title="Secondary VMM server and cloud (Hyper-V Replica)",
    data_path=DataPath.NATIVE,
    parameters=(*PARAMETERS, *_REPLICA_PARAMETERS),
    failover_modes=(
        FailoverMode.TEST,
        FailoverMode.PLANNED,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    ),
    # Hyper-V Replica underneath: failover takes the replica's latest data only.
    latest_only=True,
)
