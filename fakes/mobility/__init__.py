"""Physical servers running srp's mobility service (public API for testers).

* :class:`PhysicalServer` (``PhysicalServer.build("db01", disks=(1 << 20,))``):
  disks on :class:`fakes.disk.VirtualDisk`, NICs, fault switches
  (``server.faults.vss_failure``, ``server.faults.unavailable_calls``,
  ``server.crash()``);
* :class:`MobilityApi`: the agent's HTTP API, served on 127.0.0.1 by
  :func:`serve_mobility` or in process by
  :class:`fakes.vcenter.inprocess.AppAdapter`.
"""

from __future__ import annotations

from fakes.mobility.agent import MobilityError, MobilityFaults, MobilityService, PhysicalServer
from fakes.mobility.api import MobilityApi
from fakes.vcenter.server import LoopbackServer


def serve_mobility(server: PhysicalServer) -> tuple[LoopbackServer, MobilityApi]:
    """Serve a server's mobility service on loopback; stop with ``.stop()`` or ``with``."""
    api = MobilityApi(server)
    return LoopbackServer(api), api


__all__ = [
    "MobilityApi",
    "MobilityError",
    "MobilityFaults",
    "MobilityService",
    "PhysicalServer",
    "serve_mobility",
]
