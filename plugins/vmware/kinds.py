"""What the vmware plugin serves: the ``vmware`` (vCenter) and ``physical`` fabric kinds.

The seed's rules for VMware and physical servers to the cloud are
capabilities here: test and unplanned failover only (no planned failover to
the cloud), failback to VMware only (a physical server never receives a
failback, so it declares no reverse replication: it fails back to a new
VMware VM from a committed failover), multi-machine replication groups,
app-consistent points through quiesced snapshots, crash points every N
minutes of the continuous policy family with up to 15 days of retention.
"""

from __future__ import annotations

from dataclasses import replace

from provider.contracts.declarations import (
    Capabilities,
    ConnectionParameter,
    FabricKind,
    FailoverMode,
    ParameterType,
)
from provider.model.policy import CONTINUOUS_MAX_RETENTION_HOURS

_TEXT, _INT, _CHOICE = ParameterType.TEXT, ParameterType.INTEGER, ParameterType.CHOICE

_COMMON = (
    ConnectionParameter(
        "transport",
        default="https",
        description="https or http, or the name of a registered in-process transport (labs)",
    ),
    ConnectionParameter(
        "cert_validation",
        _CHOICE,
        default="validate",
        choices=("validate", "ignore"),
        description="check the endpoint's TLS certificate",
    ),
    ConnectionParameter(
        "ca_trust_path", _TEXT, description="CA bundle to verify the endpoint with"
    ),
    ConnectionParameter("proxy", _TEXT, description="HTTP proxy URL (none by default)"),
    ConnectionParameter("read_timeout", _INT, default="60", description="HTTP read timeout (s)"),
    ConnectionParameter("retry_attempts", _INT, default="4", description="tries per call"),
    ConnectionParameter("retry_wait", _TEXT, default="1.0", description="first backoff (s)"),
    ConnectionParameter("retry_max_wait", _TEXT, default="30.0", description="longest backoff (s)"),
)

_VCENTER = (
    ConnectionParameter(
        "api_release", _TEXT, default="8.0.2.0", description="vSphere JSON API release in URLs"
    ),
    ConnectionParameter(
        "task_poll_interval", _TEXT, default="0.5", description="seconds between task polls"
    ),
    ConnectionParameter("task_timeout", _TEXT, default="900", description="longest task wait (s)"),
    ConnectionParameter(
        "discovery_page_size",
        _INT,
        default="5000",
        description="VMs per PropertyCollector page (one request per page)",
    ),
    ConnectionParameter(
        "master_target",
        _TEXT,
        description="address of the on-premises master target that writes failback data "
        "into the VMs' disks (reverse replication and failback need one)",
    ),
    ConnectionParameter(
        "failback_process_server",
        _TEXT,
        description="name of the process server on the cloud side that sends failback data "
        "(reverse replication and failback need one)",
    ),
)

_CAPABILITIES = Capabilities(
    app_consistent=True,
    failover_modes=(FailoverMode.TEST, FailoverMode.UNPLANNED, FailoverMode.FAILBACK),
    failback_to=("vmware",),
    multi_machine_groups=True,
    reverse_replication=True,
    max_retention_hours=CONTINUOUS_MAX_RETENTION_HOURS,
)

VMWARE = FabricKind(
    kind="vmware",
    title="VMware vCenter Server (vSphere REST and JSON APIs, CBT)",
    parameters=_COMMON + _VCENTER,
    capabilities=_CAPABILITIES,
    default_port=443,
)

PHYSICAL = FabricKind(
    kind="physical",
    title="Physical server running the srp mobility service",
    parameters=_COMMON,
    # One physical fabric is one server: there is nothing to group it with. Nothing is
    # ever written back to it either, so it cannot be re-protected from the target: it
    # fails back only to a new VMware VM, from a committed failover.
    capabilities=replace(_CAPABILITIES, multi_machine_groups=False, reverse_replication=False),
    default_port=9443,
)
