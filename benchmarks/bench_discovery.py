"""Benchmark of discovery: Hyper-V over loopback WinRM, or vCenter over loopback HTTP.

Usage::

    python benchmarks/bench_discovery.py [--fabric hyperv|vcenter] [--smoke]
        [--sizes 50,500,2000] [--repeat R]

``--fabric vcenter``: a fake vCenter gets N VMs (one 1 MiB VMDK, one NIC
each) on one host; the vmware plugin's ``srp_discover`` runs over loopback
HTTP and the requests column is every request the vCenter answered for one
discovery (the login is counted: a fresh client each run). It stays the
same whatever N while the VMs fit one PropertyCollector page.

For each size N, a fake host gets N VMs (one 1 MiB VHDX and one NIC each) on
two switches; the plugin's ``srp_discover`` then runs through real pywinrm
against the loopback WinRM server with Basic authentication. The time is the
best of ``--repeat`` runs (a fresh client each time, so the WinRM session
set-up is counted); round trips are the commands the WinRM server ran and
the SOAP and HTTP requests it answered per discovery, from its counters.
The last line compares the time per VM at the largest size with the
smallest. ``--smoke`` runs 50 VMs once.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.hyperv import HyperVLab, start_winrm_lab
from fakes.hyperv.backend import ServedLab
from fakes.vcenter import VCenter, serve_vcenter
from plugins.hyperv import plugin
from plugins.vmware import plugin as vmware_plugin
from provider.contracts.connection import FabricConnection, Secret

MIB = 1 << 20


@dataclass(frozen=True)
class Figures:
    """One size's result: best seconds and the server's counters for one discovery."""

    vms: int
    seconds: float
    commands: int
    soap_requests: int
    http_requests: int

    @property
    def ms_per_vm(self) -> float:
        return self.seconds * 1000 / self.vms


def build_lab(vms: int) -> HyperVLab:
    lab = HyperVLab(seed=1)
    host = lab.add_host("hv01")
    for switch in ("LAN", "Backup"):
        host.add_switch(switch)
    for index in range(vms):
        host.create_vm(f"vm-{index:05d}", disks=[MIB], switch=("LAN", "Backup")[index % 2])
    return lab


def connection(served: ServedLab, run: int) -> FabricConnection:
    user, password = served.credentials
    return FabricConnection(
        f"bench-{run}",
        "hyperv",
        served.endpoint("hv01"),
        user,
        Secret(password),
        (("transport", "basic"), ("read_timeout", "120"), ("operation_timeout", "60")),
    )


def measure(vms: int, repeat: int) -> Figures:
    lab = build_lab(vms)
    with start_winrm_lab(lab, auth=("basic",)) as served:
        server = served.winrm["hv01"]
        best = float("inf")
        for run in range(repeat):
            conn = connection(served, run)
            before = server.stats.snapshot()
            started = time.perf_counter()
            inventory = plugin.srp_discover(conn)
            best = min(best, time.perf_counter() - started)
            after = server.stats.snapshot()
            plugin.srp_disconnect(conn)
            if len(inventory.machines) != vms:
                raise SystemExit(f"discovered {len(inventory.machines)} VMs, expected {vms}")
    return Figures(
        vms,
        best,
        after.commands_run - before.commands_run,
        after.soap_requests - before.soap_requests,
        after.http_requests - before.http_requests,
    )


def measure_vcenter(vms: int, repeat: int) -> Figures:
    vcenter = VCenter(seed=1)
    datacenter = vcenter.add_datacenter("DC1")
    datacenter.add_network("VM Network")
    host = datacenter.add_host("esx01")
    for index in range(vms):
        vcenter.create_vm(f"vm-{index:05d}", host, disks=(MIB,), networks=("VM Network",))
    server, api = serve_vcenter(vcenter)
    user, password = vcenter.credentials
    best, requests = float("inf"), 0
    with server:
        for run in range(repeat):
            conn = FabricConnection(
                f"bench-{run}",
                "vmware",
                server.address,
                user,
                Secret(password),
                (("transport", "http"),),
            )
            before = sum(api.calls.values())
            started = time.perf_counter()
            inventory = vmware_plugin.srp_discover(conn)
            best = min(best, time.perf_counter() - started)
            requests = sum(api.calls.values()) - before
            vmware_plugin.srp_disconnect(conn)
            if len(inventory.machines) != vms:
                raise SystemExit(f"discovered {len(inventory.machines)} VMs, expected {vms}")
    return Figures(vms, best, requests, 0, requests)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fabric", choices=("hyperv", "vcenter"), default="hyperv")
    parser.add_argument("--smoke", action="store_true", help="50 VMs, one run")
    parser.add_argument("--sizes", default="50,500,2000", help="comma-separated VM counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (best counts)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [50] if args.smoke else [int(size) for size in args.sizes.split(",")]
    repeat = 1 if args.smoke else args.repeat
    print(f"{'VMs':>6} {'seconds':>9} {'ms/VM':>7} {'commands':>9} {'SOAP':>5} {'HTTP':>5}")
    results = []
    for size in sizes:
        figures = (measure_vcenter if args.fabric == "vcenter" else measure)(size, repeat)
        results.append(figures)
        print(
            f"{figures.vms:>6} {figures.seconds:>9.3f} {figures.ms_per_vm:>7.2f} "
            f"{figures.commands:>9} {figures.soap_requests:>5} {figures.http_requests:>5}"
        )
    first, last = results[0], results[-1]
    ratio = last.ms_per_vm / first.ms_per_vm
    print(
        f"summary: time per VM at {last.vms} / at {first.vms} = {ratio:.2f}; "
        f"round trips per discovery = {last.commands} command(s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
