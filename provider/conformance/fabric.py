"""What a plugin author hands the conformance suite: a kind, a plugin and a test fabric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

KIB = 1024


class SourceFabric(Protocol):
    """The test fabric as the suite drives it, from the source side.

    Machines are named as the suite created them; disks are named by the
    ``disk_id`` the plugin's discovery reports. The suite writes and reads
    disks here, behind the plugin's back, to check replicas byte for byte.
    """

    def create_machine(self, name: str, disk_sizes: Sequence[int]) -> None:
        """Create a running machine with one disk per size (zeroed) and one NIC."""

    def remove_machine(self, name: str) -> None:
        """Delete a machine behind srp's back (it vanished from the fabric)."""

    def read_disk(self, name: str, disk_id: str) -> bytes:
        """The whole content of one disk of a machine, as the guest sees it now."""

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        """A guest write on one disk of a running machine."""

    def lose_tracking(self, name: str) -> None:
        """Make every disk of the machine lose its change tracking (the next cut resyncs)."""

    def set_reachable(self, reachable: bool) -> None:
        """Cut the whole fabric off the network (a site down), or bring it back."""

    def drop_connection(self) -> None:
        """Drop the connection the plugin holds, once: the very next call fails, later ones work.

        The drop must outlast the plugin's own retries for that one call, so
        that the suite sees how the failure is reported.
        """


@dataclass(frozen=True)
class ConformanceFabric:
    """A fabric kind, its plugin, and a test fabric of that kind, ready for the suite.

    ``plugin`` is what the ``srp`` entry point loads (a module or an
    object with hook implementations). ``address``, ``username``,
    ``password`` and ``options`` register the test fabric as an operator
    would. ``disk_sizes`` are the two disk sizes the suite gives a machine:
    small, multiples of 64 KiB and of the fabric's tracking granularity.
    """

    kind: str
    plugin: object
    source: SourceFabric
    address: str
    username: str
    password: str
    options: tuple[tuple[str, str], ...] = ()
    disk_sizes: tuple[int, int] = (256 * KIB, 512 * KIB)
