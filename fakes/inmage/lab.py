"""A ready-made S5 lab: a vCenter and a physical server on the primary site, Scout components.

Primary site: vCenter ``vcsa01.lab.local`` (DC1, ``web01`` with two disks,
``app01``), physical server ``db01``, process server ``ps01``, and master
target ``mt-primary`` for failback. Secondary site: the CX, master target
``mt01`` and process server ``ps-dr`` (for failback traffic).
"""

from __future__ import annotations

from dataclasses import dataclass

from fakes.clock import VirtualClock
from fakes.inmage.components import MasterTarget, ProcessServer
from fakes.inmage.deployment import ScoutDeployment
from fakes.mobility import PhysicalServer
from fakes.vcenter import VCenter

MIB = 1 << 20
PASSPHRASE = "Scout-Passphrase-1"


@dataclass
class S5Lab:
    clock: VirtualClock
    vcenter: VCenter
    physical: PhysicalServer
    cx: ScoutDeployment
    ps: ProcessServer
    mt: MasterTarget
    ps_dr: ProcessServer
    mt_primary: MasterTarget


def build_s5_lab(clock: VirtualClock | None = None, seed: int = 5) -> S5Lab:
    """The lab above, with every agent reported in and nothing protected yet."""
    clock = clock or VirtualClock()
    vcenter = VCenter(seed=seed, clock=clock)
    dc = vcenter.add_datacenter("DC1")
    dc.add_network("VM Network")
    esx = dc.add_host("esx01.lab", dc.add_cluster("Prod"))
    vcenter.create_vm("web01", esx, disks=(MIB, MIB // 2), networks=("VM Network",))
    vcenter.create_vm("app01", esx, disks=(MIB,), networks=("VM Network",))
    physical = PhysicalServer.build("db01", disks=(MIB,), seed=seed, clock=clock)
    cx = ScoutDeployment(passphrase=PASSPHRASE, clock=clock, seed=seed)
    ps = cx.add_process_server("ps01", "primary")
    mt = cx.add_master_target("mt01", "secondary")
    ps_dr = cx.add_process_server("ps-dr", "secondary")
    mt_primary = cx.add_master_target("mt-primary", "primary")
    cx.add_vcenter(vcenter)
    cx.add_physical(physical)
    return S5Lab(clock, vcenter, physical, cx, ps, mt, ps_dr, mt_primary)
