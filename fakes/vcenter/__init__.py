"""A simulated vCenter Server served over the vSphere REST and JSON APIs (public API for testers).

* :class:`VCenter`: datacenters, clusters, ESXi hosts, port groups, a
  datastore, VMs with VMDKs on :class:`fakes.disk.VirtualDisk` and CBT
  change ids, snapshots (quiesced or not), tasks, power operations;
* fault switches: ``vc.sessions.expire_all()``, ``vc.delete_vm(vm)``,
  ``vc.reset_cbt(vm)``, ``vc.faults.quiesce_failure``,
  ``vc.faults.unavailable_calls``, ``vc.faults.task_polls``,
  ``vc.faults.cbt_query_window``;
* :class:`MasterTarget` and :func:`serve_master_target`: the on-premises
  master target that writes failback data into a VM's VMDKs
  (:mod:`fakes.vcenter.mastertarget`);
* ``PropertyCollector``/``ViewManager`` of the JSON API for bounded
  discovery (:mod:`fakes.vcenter.properties`); a NIC's ``ip_addresses`` are
  what VMware Tools reports in ``guest.net``;
* :class:`VCenterApi`: the HTTP application (``/api/...``,
  ``/sdk/vim25/{release}/...``, ``/folder/...``), served on 127.0.0.1 by
  :func:`serve_vcenter` or in process by :class:`AppAdapter`.

Example::

    vc = VCenter(seed=1)
    dc = vc.add_datacenter("DC1")
    dc.add_network("VM Network")
    vm = vc.create_vm("web01", dc.add_host("esx01"), disks=(1 << 20,), networks=("VM Network",))
    server, api = serve_vcenter(vc)
    with server:
        ...  # requests against server.url
"""

from __future__ import annotations

from fakes.vcenter.api import VCenterApi, serve_vcenter
from fakes.vcenter.inprocess import AppAdapter
from fakes.vcenter.mastertarget import (
    MasterTarget,
    MasterTargetApi,
    MasterTargetFaults,
    serve_master_target,
)
from fakes.vcenter.model import (
    Cluster,
    Datacenter,
    EsxHost,
    Network,
    VCenter,
    VCenterFaults,
    VirtualMachine,
    Vmdk,
)
from fakes.vcenter.server import LoopbackServer

__all__ = [
    "AppAdapter",
    "Cluster",
    "Datacenter",
    "EsxHost",
    "LoopbackServer",
    "MasterTarget",
    "MasterTargetApi",
    "MasterTargetFaults",
    "Network",
    "VCenter",
    "VCenterApi",
    "VCenterFaults",
    "VirtualMachine",
    "Vmdk",
    "serve_master_target",
    "serve_vcenter",
]
