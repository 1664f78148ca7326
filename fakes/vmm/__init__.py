"""Simulated System Center VMM servers over the fake Hyper-V hosts (public API for testers).

* :class:`VmmLab`: VMM servers by name, FQDN or address, over one
  :class:`fakes.hyperv.HyperVLab` (shared clock, seed and hosts);
* :class:`VmmServer`: host groups, managed hosts, private clouds with their
  logical networks and capacity (:class:`CloudCapacity`), logical networks
  and VM networks, each host switch's logical networks
  (:meth:`VmmServer.connect_switch`), and each VM's cloud and adapter
  networks (:meth:`VmmServer.place_vm`); fault switches on ``server.faults``
  (:class:`VmmFaults`); :attr:`VmmServer.command_log`;
* the VMM cmdlets (``Get-SCVMMServer``, ``Get-SCCloud``,
  ``Get-SCCloudCapacity``, ``Get-SCCloudUsage``, ``Get-SCVirtualMachine``,
  ``Get-SCVMNetwork``, ``Get-SCLogicalNetwork``,
  ``Get-SCVirtualNetworkAdapter``, ``Get-SCVirtualNetwork``, ``Get-SCVMHostGroup``,
  ``Get-SCVMHost``)
  answered by the fake PowerShell front end of :mod:`fakes.hyperv`, with
  the VMM server's own cmdlet registry (:data:`fakes.vmm.catalog.VMM_REGISTRY`);
* reaching servers and hosts: :func:`install_inprocess_transport`
  (``fake-vmm-inprocess``) or real WinRM on loopback (:func:`start_winrm_lab`).

The WinRM pieces import :mod:`fakes.winrm` lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.vmm.faults import VmmFaults
from fakes.vmm.lab import VmmLab
from fakes.vmm.model import (
    Cloud,
    CloudCapacity,
    CommunicationState,
    HostGroup,
    IsolationType,
    LogicalNetwork,
    ManagedHost,
    Placement,
    VMComputerSystemState,
    VMNetwork,
)
from fakes.vmm.server import CloudUsage, VmmServer
from fakes.vmm.transport import VmmInProcessTransport, install_inprocess_transport

if TYPE_CHECKING:
    from fakes.vmm.backend import VmmBackend, start_winrm_lab

__all__ = [
    "Cloud",
    "CloudCapacity",
    "CloudUsage",
    "CommunicationState",
    "HostGroup",
    "IsolationType",
    "LogicalNetwork",
    "ManagedHost",
    "Placement",
    "VMComputerSystemState",
    "VMNetwork",
    "VmmBackend",
    "VmmFaults",
    "VmmInProcessTransport",
    "VmmLab",
    "VmmServer",
    "install_inprocess_transport",
    "start_winrm_lab",
]

_LAZY = {"VmmBackend", "start_winrm_lab"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from fakes.vmm import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'fakes.vmm' has no attribute {name!r}")
