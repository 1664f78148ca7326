"""The one exception hierarchy of srp.

Every error a user can meet is a subclass of :class:`SrpError` and carries a
message that says what went wrong and what to do about it. Plugins map their
backend failures (WinRM, HTTP, SQL, OS errors) into this tree at their
boundary with ``raise ... from exc`` so the cause is kept for ``--debug``.

The tree::

    SrpError
    ├── ConfigurationError            bad SRP_HOME, SRP_DATABASE_URL, settings
    ├── ValidationError               a domain object refused on creation
    │   └── PolicyError               a replication policy the fabric cannot honour
    ├── InvalidTransition             a state machine asked for an illegal move
    ├── NotFound                      a fabric, item, point, plan or job is unknown
    ├── AlreadyExists                 a second object with one identity
    ├── PluginError                   plugin loading and dispatch
    │   ├── PluginLoadError           an entry point that fails to import or register
    │   ├── PluginConflict            two plugins claim one kind
    │   ├── NoPluginForKind           nobody serves a fabric or target kind
    │   └── PluginHookError           a plugin raised something outside this tree
    ├── StoreError                    the vault store
    │   ├── SchemaTooNew              the database was written by a newer srp
    │   └── StoreUnavailable          the database cannot be opened or written
    ├── CredentialsError              vault credentials files and secrets
    │   ├── CredentialsExpired
    │   ├── CredentialsTampered
    │   └── CredentialsForeign        issued by another vault
    ├── FabricError                   a fabric refused or failed an operation
    │   ├── FabricUnreachable         network failure, timeout, dropped connection
    │   ├── AuthenticationFailed      the fabric refused the credentials
    │   ├── WrongFabricKind           the endpoint is not what the kind says
    │   ├── MachineNotFound           a machine vanished from the fabric
    │   ├── RemoteCommandFailed       the fabric ran the call and it failed
    │   └── HostileResponse           output that a hardened parser refused
    ├── HrlError                      an HRL file refused by the reader
    │   ├── HrlBadMagic
    │   ├── HrlBadVersion
    │   ├── HrlTruncated
    │   ├── HrlCorrupt                a checksum or digest mismatch
    │   ├── HrlWrongKey               decryption failed with the vault's key
    │   ├── HrlForeign                for another machine, disk or item
    │   └── HrlChainError             a gap, a reorder or a replay
    │       ├── HrlGap
    │       ├── HrlReorder
    │       └── HrlReplay
    ├── ReplicationError              the data path cannot go on
    │   ├── TargetUnavailable         the target is down or slow; data is cached
    │   ├── TargetFull                no space left on the target
    │   ├── CacheFull                 the process server cache is over its bound
    │   └── ResyncRequired            change tracking lost; resynchronize
    ├── FailoverError                 the failover family refused an operation
    │   ├── NotSupported              the scenario's rules forbid it
    │   ├── MappingMissing            a NIC's network has no mapping
    │   └── RecoveryPointUnavailable  outside retention, or never existed
    ├── PlanError                     a recovery plan file or run
    └── JobError                      a durable job cannot run or resume
"""

from __future__ import annotations


class SrpError(Exception):
    """Base of every error srp reports to a user."""

    #: What the user can do about it; appended to the message when set.
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if hint is not None:
            self.hint = hint
        self.message = message
        super().__init__(f"{message} ({self.hint})" if self.hint else message)


class ConfigurationError(SrpError):
    """A setting (environment variable, file, option) is malformed or unusable."""


class ValidationError(SrpError):
    """A domain object was refused on creation."""


class PolicyError(ValidationError):
    """A replication policy that the fabric or the scenario cannot honour."""


class InvalidTransition(SrpError):
    """An illegal move in one of the explicit state machines."""

    def __init__(self, machine: str, current: str, wanted: str, allowed: list[str]) -> None:
        self.current, self.wanted, self.allowed = current, wanted, allowed
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"{machine}: cannot go from {current!r} to {wanted!r}; "
            f"allowed from {current!r}: {allowed_text}"
        )


class NotFound(SrpError):
    """A named object does not exist."""


class AlreadyExists(SrpError):
    """A second object with the same identity."""


class PluginError(SrpError):
    """Plugin loading and dispatch."""


class PluginLoadError(PluginError):
    """An entry point that does not import or does not register."""


class PluginConflict(PluginError):
    """Two plugins claim the same fabric or target kind."""


class NoPluginForKind(PluginError):
    """No loaded plugin serves the requested kind."""


class PluginHookError(PluginError):
    """A plugin raised an exception outside srp's hierarchy inside a hook."""


class StoreError(SrpError):
    """The vault store failed."""


class SchemaTooNew(StoreError):
    """The database schema was written by a newer srp than this one."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or written."""


class CredentialsError(SrpError):
    """A vault credentials file or a stored secret is unusable."""


class CredentialsExpired(CredentialsError):
    """The vault credentials file is past its expiry."""


class CredentialsTampered(CredentialsError):
    """The vault credentials file's signature does not match its contents."""


class CredentialsForeign(CredentialsError):
    """The vault credentials file was issued by another vault."""


class FabricError(SrpError):
    """A fabric refused or failed an operation."""


class FabricUnreachable(FabricError):
    """The fabric did not answer: network failure, timeout, dropped connection."""


class AuthenticationFailed(FabricError):
    """The fabric refused the credentials; never retried."""


class WrongFabricKind(FabricError):
    """The endpoint answered but is not the kind of fabric it was registered as."""


class MachineNotFound(FabricError):
    """A machine that was discovered is no longer on the fabric."""


class RemoteCommandFailed(FabricError):
    """The fabric ran the call and reported a failure."""


class HostileResponse(FabricError):
    """The fabric's output was refused by a hardened parser."""


class HrlError(SrpError):
    """An HRL file refused by the reader; the replica is left untouched."""


class HrlBadMagic(HrlError):
    """The file does not start with the HRL magic."""


class HrlBadVersion(HrlError):
    """The file is an HRL of a version this reader does not know."""


class HrlTruncated(HrlError):
    """The file ends before its trailer."""


class HrlCorrupt(HrlError):
    """A frame checksum or the file digest does not match."""


class HrlWrongKey(HrlError):
    """A frame does not decrypt with the given key."""


class HrlForeign(HrlError):
    """The file belongs to another machine, disk or protected item."""


class HrlChainError(HrlError):
    """The file does not continue the chain of the disk's applied HRLs."""


class HrlGap(HrlChainError):
    """One or more HRLs are missing before this one."""


class HrlReorder(HrlChainError):
    """This HRL names a predecessor other than the last one applied."""


class HrlReplay(HrlChainError):
    """This HRL was already applied."""


class ReplicationError(SrpError):
    """The data path cannot go on."""


class TargetUnavailable(ReplicationError):
    """The target is down or too slow; data stays cached and is forwarded later."""


class TargetFull(ReplicationError):
    """The target has no space left; the cycle stops and resumes once space returns."""


class CacheFull(ReplicationError):
    """The process server's local cache is over its bound."""


class ResyncRequired(ReplicationError):
    """Change tracking was lost or overflowed; a resynchronization is needed."""


class FailoverError(SrpError):
    """The failover family refused an operation."""


class NotSupported(FailoverError):
    """The scenario's rules forbid this operation."""


class MappingMissing(FailoverError):
    """A NIC's network has no mapping on the target."""


class RecoveryPointUnavailable(FailoverError):
    """The recovery point is outside retention or never existed."""


class PlanError(SrpError):
    """A recovery plan file is invalid or a plan run cannot go on."""


class JobError(SrpError):
    """A durable job cannot run or resume."""
