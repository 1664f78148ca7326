"""What the hyperv plugin serves: the "hyperv" fabric kind and the "hyperv-replica" target."""

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

#: Hyper-V Replica's only replication frequencies, in seconds.
COPY_FREQUENCIES = (30, 300, 900)

_TEXT, _INT, _CHOICE = ParameterType.TEXT, ParameterType.INTEGER, ParameterType.CHOICE

PARAMETERS = (
    ConnectionParameter(
        "transport",
        description=(
            "how scripts reach the host: winrm (authentication from 'auth'), or the WinRM "
            "shorthands basic, ntlm, kerberos, credssp, certificate, https (Basic over TLS); "
            "labs may register more"
        ),
        default="winrm",
    ),
    ConnectionParameter(
        "auth",
        _CHOICE,
        default="ntlm",
        choices=("basic", "ntlm", "kerberos", "credssp", "certificate"),
        description="WinRM authentication when transport is winrm",
    ),
    ConnectionParameter(
        "scheme", _CHOICE, default="http", choices=("http", "https"), description="WinRM scheme"
    ),
    ConnectionParameter("port", _INT, description="WinRM port (default 5985 http, 5986 https)"),
    ConnectionParameter(
        "cert_validation",
        _CHOICE,
        default="validate",
        choices=("validate", "ignore"),
        description="check the host's TLS certificate",
    ),
    ConnectionParameter("ca_trust_path", _TEXT, description="CA bundle to verify the host with"),
    ConnectionParameter("read_timeout", _INT, default="30", description="HTTP read timeout (s)"),
    ConnectionParameter(
        "operation_timeout", _INT, default="20", description="WS-Man operation timeout (s)"
    ),
    ConnectionParameter(
        "message_encryption",
        _CHOICE,
        default="auto",
        choices=("auto", "always", "never"),
        description="NTLM/Kerberos message encryption over HTTP",
    ),
    ConnectionParameter("proxy", _TEXT, description="HTTP proxy URL (none by default)"),
    ConnectionParameter("site", _TEXT, description="Hyper-V site the host belongs to"),
    ConnectionParameter("retry_attempts", _INT, default="4", description="tries per call"),
    ConnectionParameter("retry_wait", _TEXT, default="1.0", description="first backoff (s)"),
    ConnectionParameter("retry_max_wait", _TEXT, default="30.0", description="longest backoff (s)"),
)

HYPERV = FabricKind(
    kind="hyperv",
    title="Hyper-V host (WinRM)",
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
        failback_to=("hyperv",),
        multi_machine_groups=True,
        reverse_replication=True,
        max_retention_hours=24,
    ),
    default_port=5985,
)

#: What only the replica side needs: how to reach the replica server and replicate to it.
REPLICA_PARAMETERS = (
    ConnectionParameter("username", _TEXT, description="WinRM user on the replica server"),
    ConnectionParameter(
        "primary_address",
        _TEXT,
        description=(
            "WinRM address of the primary host replicating to this server, used when a "
            "protection names none (same secret and transport options)"
        ),
    ),
    ConnectionParameter(
        "group_book",
        _TEXT,
        description=(
            "file where the target remembers its groups (primary host, VMs, direction); "
            "default: a file in the state directory srp keeps for the target"
        ),
    ),
    ConnectionParameter(
        "frequency_sec",
        _CHOICE,
        default="300",
        choices=tuple(str(f) for f in COPY_FREQUENCIES),
        description="Hyper-V Replica's copy frequency (s) when protection names none",
    ),
    ConnectionParameter(
        "reverse_storage_path",
        _TEXT,
        default="D:\\Hyper-V Replica",
        description="where the original host stores replicas once replication is reversed",
    ),
)

HYPERV_REPLICA = TargetKind(
    kind="hyperv-replica",
    title="Secondary Hyper-V site (Hyper-V Replica)",
    data_path=DataPath.NATIVE,
    parameters=PARAMETERS + REPLICA_PARAMETERS,
    # Every mode: test failover (-AsTest), planned, unplanned, failback (see native.py).
    failover_modes=(
        FailoverMode.TEST,
        FailoverMode.PLANNED,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    ),
    # Start-VMFailover takes the replica's latest data (no -VMRecoverySnapshot in the
    # catalog); the hourly replica snapshots are Hyper-V's own points, not srp's.
    latest_only=True,
)
