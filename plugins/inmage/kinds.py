"""What the inmage plugin serves: the ``inmage`` fabric and the ``inmage-site`` target.

The fabric is a configuration server (CX): discovery lists the machines
whose unified agents reported in (VMware VMs and physical servers) and the
process servers and master targets as hosts. The target is the secondary
site behind that CX: InMage replicates natively (agents -> process server
-> master target), so srp drives it through the native replication hooks
and ships no HRL. Test failover makes virtual-snapshot copies; reverse
replication goes to a master target on the primary site (target options
``failback_master_target``, ``failback_process_server``). Failback goes to
VMware only, never to a physical server.
"""

from __future__ import annotations

from provider.contracts.declarations import (
    Capabilities,
    ConnectionParameter,
    DataPath,
    FabricKind,
    FailoverMode,
    ParameterType,
    TargetKind,
)
from provider.model.policy import CONTINUOUS_MAX_RETENTION_HOURS

_TEXT, _INT, _CHOICE = ParameterType.TEXT, ParameterType.INTEGER, ParameterType.CHOICE

PARAMETERS = (
    ConnectionParameter(
        "transport", _CHOICE, default="https", choices=("https", "http"), description="scheme"
    ),
    ConnectionParameter(
        "cert_validation",
        _CHOICE,
        default="validate",
        choices=("validate", "ignore"),
        description="check the CX's TLS certificate",
    ),
    ConnectionParameter("ca_trust_path", _TEXT, description="CA bundle to verify the CX with"),
    ConnectionParameter("read_timeout", _INT, default="60", description="HTTP read timeout (s)"),
    ConnectionParameter("retry_attempts", _INT, default="4", description="tries per call"),
    ConnectionParameter("retry_wait", _TEXT, default="1.0", description="first backoff (s)"),
    ConnectionParameter("retry_max_wait", _TEXT, default="30.0", description="longest backoff (s)"),
)

_MODES = (FailoverMode.TEST, FailoverMode.UNPLANNED, FailoverMode.FAILBACK)

INMAGE = FabricKind(
    kind="inmage",
    title="InMage Scout configuration server (CX API)",
    parameters=PARAMETERS,
    capabilities=Capabilities(
        app_consistent=True,
        failover_modes=_MODES,
        # Failback lands on the CX's own sources through a primary-site master target;
        # the plugin refuses it for a physical server (VMware only), machine by machine.
        failback_to=("inmage",),
        multi_machine_groups=True,
        reverse_replication=True,
        max_retention_hours=CONTINUOUS_MAX_RETENTION_HOURS,
    ),
    default_port=443,
)

_SITE_PARAMETERS = (
    *PARAMETERS,
    ConnectionParameter("process_server", _TEXT, description="process server id or name"),
    ConnectionParameter("master_target", _TEXT, description="master target id or name"),
    ConnectionParameter(
        "failback_master_target", _TEXT, description="primary-site master target for failback"
    ),
    ConnectionParameter(
        "failback_process_server", _TEXT, description="recovery-site process server for failback"
    ),
    ConnectionParameter(
        "retention_hours", _INT, default="24", description="retention of failback protection (h)"
    ),
)

INMAGE_SITE = TargetKind(
    kind="inmage-site",
    title="Secondary site through InMage Scout (process server, master target)",
    data_path=DataPath.NATIVE,
    parameters=_SITE_PARAMETERS,
    failover_modes=_MODES,
)
