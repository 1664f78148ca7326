"""The Hyper-V module's enumerations, with the integer values ``ConvertTo-Json`` writes.

Windows PowerShell 5.1 serializes an enum as its integer value, so these
numbers are part of the wire contract: a plugin that forgets to stringify a
property (``@{n='State';e={[string]$_.State}}``) sees them.
"""

from __future__ import annotations

from enum import IntEnum


class VMState(IntEnum):
    """``Microsoft.HyperV.PowerShell.VMState`` (the states the fake uses)."""

    Other = 1
    Running = 2
    Off = 3
    Stopping = 4
    Saved = 6
    Paused = 9
    Starting = 10


class ReplicationState(IntEnum):
    """``Microsoft.HyperV.PowerShell.VMReplicationState``."""

    Disabled = 0
    ReadyForInitialReplication = 1
    InitialReplicationInProgress = 2
    WaitingForInitialReplication = 3
    Replicating = 4
    PreparedForFailover = 5
    FailedOverWaitingCompletion = 6
    FailedOver = 7
    Suspended = 8
    Error = 9
    WaitingForStartResynchronize = 10
    Resynchronizing = 11
    ResynchronizeSuspended = 12
    RecoveryInProgress = 13
    FailbackInProgress = 14
    FailbackComplete = 15


class ReplicationHealth(IntEnum):
    """``Microsoft.HyperV.PowerShell.VMReplicationHealthState``."""

    NotApplicable = 0
    Normal = 1
    Warning = 2
    Critical = 3


class ReplicationMode(IntEnum):
    """``Microsoft.HyperV.PowerShell.VMReplicationMode``."""

    # The member is spelled as PowerShell prints it; ``None`` is a keyword in Python.
    None_ = 0
    Primary = 1
    Replica = 2
    TestReplica = 3
    ExtendedReplica = 4

    @property
    def display(self) -> str:
        return "None" if self is ReplicationMode.None_ else self.name


class AuthenticationType(IntEnum):
    """``Microsoft.HyperV.PowerShell.ReplicationAuthenticationType``."""

    Kerberos = 1
    Certificate = 2
    CertificateAndKerberos = 3


class ControllerType(IntEnum):
    """``Microsoft.HyperV.PowerShell.ControllerType``."""

    IDE = 0
    SCSI = 1


class VhdFormat(IntEnum):
    """``Microsoft.Vhd.PowerShell.VhdFormat``."""

    VHD = 2
    VHDX = 3
    VHDSet = 4


class VhdType(IntEnum):
    """``Microsoft.Vhd.PowerShell.VhdType``."""

    Fixed = 2
    Dynamic = 3
    Differencing = 4


class SwitchType(IntEnum):
    """``Microsoft.HyperV.PowerShell.VMSwitchType``."""

    Private = 0
    Internal = 1
    External = 2


class SnapshotType(IntEnum):
    """``Microsoft.HyperV.PowerShell.SnapshotType`` (recovery points on a replica)."""

    Standard = 0
    Recovery = 1
    Planned = 2
    Missing = 3
    Replica = 4
    AppConsistentReplica = 5
    SyncedReplica = 6
