"""Fault switches of a simulated VMM server, for the plugin's bad-input tests.

Set them on ``server.faults`` at any time; clearing one restores normal
behaviour for the next script. A managed host that stops responding is
``server.managed(host).responding = False``; a host that cannot be reached
at all is a fault of the Hyper-V lab (stop its WinRM server, or remove it).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class VmmFaults:
    """Switches that make a VMM server misbehave.

    * ``service_stopped``: the Virtual Machine Manager service is down, so
      every VMM cmdlet fails with error 1605 (the WinRM endpoint still answers).
    * ``failing_cmdlets``: cmdlet name -> detail; that cmdlet fails with
      VMM's internal error 2606 (an error in the middle of a discovery script).
    * ``unreachable``: the server does not answer at all; the in-process
      transport then raises ``FabricUnreachable`` (over WinRM, stop the server).
    """

    service_stopped: bool = False
    failing_cmdlets: dict[str, str] = field(default_factory=dict)
    unreachable: bool = False

    def failure_of(self, cmdlet: str) -> str | None:
        """The detail of the failure set for ``cmdlet`` (any case), or ``None``."""
        lowered = cmdlet.lower()
        return next(
            (detail for name, detail in self.failing_cmdlets.items() if name.lower() == lowered),
            None,
        )
