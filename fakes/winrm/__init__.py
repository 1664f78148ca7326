"""A loopback WS-Management (WinRM) server that the real pywinrm client talks to.

``winrm.Session(...).run_ps(...)`` and ``run_cmd(...)`` work against it over
Basic or NTLM (with or without message encryption), HTTP or HTTPS. What the
commands do is up to a :class:`CommandBackend`; fault switches play latency,
dropped connections, operation timeouts and size limits. See
:class:`WinRMServer` for one host and :class:`WinRMLab` for several.
"""

from fakes.winrm.backend import CommandBackend, CommandRequest, CommandResult
from fakes.winrm.faults import FaultSwitches
from fakes.winrm.lab import WinRMLab
from fakes.winrm.server import WinRMServer
from fakes.winrm.stats import ServerStats, StatsSnapshot

__all__ = [
    "CommandBackend",
    "CommandRequest",
    "CommandResult",
    "FaultSwitches",
    "ServerStats",
    "StatsSnapshot",
    "WinRMLab",
    "WinRMServer",
]
