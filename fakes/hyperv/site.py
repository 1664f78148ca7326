"""A lab of fake Hyper-V hosts (registry by name, FQDN or address) and the sites grouping them.

The lab owns what hosts share: the virtual clock on which replication runs,
the seed behind every id, the network links between hosts (a fault switch
can drop one), the bandwidth that sets how long transfers take, and the lock
that serializes scripts (WinRM worker threads) with clock timers (the test
thread).

Example::

    from fakes.hyperv import HyperVLab

    lab = HyperVLab(seed=7)
    site_a = lab.add_site("Site-A")
    primary = site_a.add_host("hv01")
    replica = lab.add_host("hv02", site="Site-B")
    lab.drop_link("hv01", "hv02")      # replication cycles now fail and retry
    lab.restore_link("hv01", "hv02")
"""

from __future__ import annotations

import itertools
import threading

from fakes.clock import VirtualClock
from fakes.hyperv.host import GIB, HyperVHost
from provider.errors import AlreadyExists, NotFound

#: Default replication bandwidth between hosts: 100 MiB per virtual second.
DEFAULT_BANDWIDTH = 100 << 20


class HyperVSite:
    """A named group of hosts (a datacenter); VMM and discovery show it as a container."""

    def __init__(self, lab: HyperVLab, name: str) -> None:
        self.lab = lab
        self.name = name
        self.hosts: list[HyperVHost] = []

    def __repr__(self) -> str:
        return f"HyperVSite({self.name!r}, hosts={[host.name for host in self.hosts]})"

    def add_host(self, name: str, **options: object) -> HyperVHost:
        """Add a host to the lab, in this site (options as :meth:`HyperVLab.add_host`)."""
        return self.lab.add_host(name, site=self.name, **options)  # type: ignore[arg-type]


class HyperVLab:
    """Every fake Hyper-V host of a test, on one virtual clock."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: VirtualClock | None = None,
        domain: str = "srp.test",
        bandwidth: int = DEFAULT_BANDWIDTH,
    ) -> None:
        self.seed = seed
        self.clock = clock or VirtualClock()
        self.domain = domain
        self.bandwidth = bandwidth
        self.lock = threading.RLock()
        self.hosts: list[HyperVHost] = []
        self.sites: dict[str, HyperVSite] = {}
        self._dropped: set[frozenset[str]] = set()
        self._serial = itertools.count(1)

    def __repr__(self) -> str:
        return f"HyperVLab(hosts={[host.name for host in self.hosts]})"

    def add_site(self, name: str) -> HyperVSite:
        """Create a site (or return the existing one of that name)."""
        return self.sites.setdefault(name, HyperVSite(self, name))

    def add_host(
        self,
        name: str,
        *,
        address: str | None = None,
        fqdn: str | None = None,
        site: str | None = None,
        processors: int = 16,
        memory: int = 64 * GIB,
    ) -> HyperVHost:
        """Create a host; its address defaults to its name, its FQDN to ``name.domain``."""
        if self.find_host(name) is not None:
            raise AlreadyExists(f"a fake Hyper-V host named {name!r} is already in the lab")
        host = HyperVHost(
            self,
            name,
            address=address or name,
            fqdn=fqdn or f"{name}.{self.domain}",
            processors=processors,
            memory=memory,
        )
        self.hosts.append(host)
        if site is not None:
            self.add_site(site).hosts.append(host)
        return host

    def find_host(self, key: str) -> HyperVHost | None:
        """The host whose name, FQDN or address is ``key`` (no case), or ``None``."""
        lowered = key.strip().lower()
        for host in self.hosts:
            if lowered in (host.name.lower(), host.fqdn.lower(), host.address.lower()):
                return host
        return None

    def host(self, key: str) -> HyperVHost:
        """The host for ``key``; raises :class:`provider.errors.NotFound` if there is none."""
        found = self.find_host(key)
        if found is None:
            raise NotFound(f"no fake Hyper-V host named {key!r} in this lab")
        return found

    def site_of(self, host: HyperVHost) -> HyperVSite | None:
        return next((site for site in self.sites.values() if host in site.hosts), None)

    # -- network -----------------------------------------------------------------------

    def drop_link(self, first: str, second: str) -> None:
        """Fault: the network between two hosts is down (replication cycles fail)."""
        self._dropped.add(self._pair(first, second))

    def restore_link(self, first: str, second: str) -> None:
        self._dropped.discard(self._pair(first, second))

    def link_up(self, first: str, second: str) -> bool:
        return self._pair(first, second) not in self._dropped

    def _pair(self, first: str, second: str) -> frozenset[str]:
        return frozenset((self.host(first).name, self.host(second).name))

    def next_serial(self) -> int:
        """A lab-wide counter for snapshot ids (unique across relationships)."""
        return next(self._serial)
