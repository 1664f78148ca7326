"""Exit codes scripts can rely on: one per family of error, stable across releases.

| code | meaning                                                        |
|------|----------------------------------------------------------------|
| 0    | success                                                        |
| 1    | an unexpected internal error (a bug: please report it)         |
| 2    | bad usage: unknown command or option, missing argument         |
| 3    | not found: fabric, item, point, plan, job                      |
| 4    | invalid input or configuration, illegal state transition       |
| 5    | credentials, authentication or API token refused               |
| 6    | a fabric or target unreachable or failing                      |
| 7    | already exists / conflict                                      |
| 8    | plugin problem (none serves the kind, conflict, hook failure)  |
| 9    | vault store problem                                            |
| 10   | replication, HRL or failover refused                           |
"""

from __future__ import annotations

from provider import errors

OK = 0
INTERNAL = 1
USAGE = 2

_BY_CLASS: tuple[tuple[type[errors.SrpError], int], ...] = (
    (errors.NotFound, 3),
    (errors.ValidationError, 4),
    (errors.ConfigurationError, 4),
    (errors.InvalidTransition, 4),
    (errors.PlanError, 4),
    (errors.CredentialsError, 5),
    (errors.AuthenticationFailed, 5),
    (errors.FabricError, 6),
    (errors.TargetUnavailable, 6),
    (errors.AlreadyExists, 7),
    (errors.PluginError, 8),
    (errors.StoreError, 9),
    (errors.HrlError, 10),
    (errors.ReplicationError, 10),
    (errors.FailoverError, 10),
    (errors.JobError, 10),
)


def exit_code_for(error: errors.SrpError) -> int:
    """The documented exit code of an error (the first matching family wins)."""
    for cls, code in _BY_CLASS:
        if isinstance(error, cls):
            return code
    return INTERNAL
