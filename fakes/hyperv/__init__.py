"""Simulated Hyper-V hosts and sites with a PowerShell front end (public API for testers).

* :class:`HyperVLab` / :class:`HyperVSite`: hosts by name, FQDN or address,
  one virtual clock, network links that can drop;
* :class:`HyperVHost`: VMs with VHDs on :class:`fakes.disk.VirtualDisk`,
  switches and NICs, the SrpAgent, Hyper-V Replica, fault switches
  (``host.faults``, ``host.crash()``, ``host.lose_tracking()``,
  ``host.remove_vm()``), and :attr:`HyperVHost.command_log`;
* reaching a host: :class:`InProcessTransport` (``fake-inprocess`` for the
  plugin, via :func:`install_inprocess_transport`) or real WinRM on loopback
  (:class:`HyperVBackend`, :func:`start_winrm_lab`).

The WinRM pieces import :mod:`fakes.winrm` lazily, so the in-process fake
works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.hyperv.enums import (
    ReplicationHealth,
    ReplicationMode,
    ReplicationState,
    SwitchType,
    VMState,
)
from fakes.hyperv.host import CommandLogEntry, HyperVHost, RawResult, VirtualMachine
from fakes.hyperv.replication import ReplicationLink, ReplicationSettings
from fakes.hyperv.site import HyperVLab, HyperVSite
from fakes.hyperv.transport import InProcessTransport, install_inprocess_transport

if TYPE_CHECKING:
    from fakes.hyperv.backend import HyperVBackend, ServedLab, start_winrm_lab

__all__ = [
    "CommandLogEntry",
    "HyperVBackend",
    "HyperVHost",
    "HyperVLab",
    "HyperVSite",
    "InProcessTransport",
    "RawResult",
    "ReplicationHealth",
    "ReplicationLink",
    "ReplicationMode",
    "ReplicationSettings",
    "ReplicationState",
    "ServedLab",
    "SwitchType",
    "VMState",
    "VirtualMachine",
    "install_inprocess_transport",
    "start_winrm_lab",
]

_LAZY = {"HyperVBackend", "ServedLab", "start_winrm_lab"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from fakes.hyperv import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'fakes.hyperv' has no attribute {name!r}")
