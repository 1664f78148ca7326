"""Failover values: requests to the target side and what comes back."""

from __future__ import annotations

from dataclasses import dataclass

from provider.contracts.declarations import FailoverMode
from provider.model.checks import require_choice
from provider.model.inventory import Machine
from provider.model.recovery import RecoveryPoint


@dataclass(frozen=True)
class NicPlacement:
    """Where one replica NIC lands: the mapped target network and its IP setting.

    An empty ``ip_address`` lets the target assign one, from ``subnet`` when
    given (a static mapping), else from the network's own subnet.
    """

    nic_id: str
    network_id: str
    ip_address: str = ""
    subnet: str = ""


@dataclass(frozen=True)
class DiskPlacement:
    """Where one replica disk lands: the mapped target storage (empty: the default)."""

    disk_id: str
    storage: str = ""


@dataclass(frozen=True)
class FailoverRequest:
    """Create (or, for TEST, create isolated) a replica machine at a recovery point."""

    item_id: str
    machine: Machine
    point: RecoveryPoint
    mode: FailoverMode
    nics: tuple[NicPlacement, ...] = ()
    replica_name: str = ""
    disks: tuple[DiskPlacement, ...] = ()


@dataclass(frozen=True)
class ReplicaDisk:
    """A disk of a replica machine and the digest it holds."""

    disk_id: str
    digest: str
    location: str = ""


@dataclass(frozen=True)
class FailoverResult:
    """The replica machine the target created and started."""

    item_id: str
    replica_id: str
    replica_name: str
    power_state: str
    disks: tuple[ReplicaDisk, ...]
    nics: tuple[NicPlacement, ...] = ()


@dataclass(frozen=True)
class PreparedSource:
    """The source after a planned failover's preparation: stopped, final cut pending."""

    machine_id: str
    power_state: str


@dataclass(frozen=True)
class CleanupResult:
    """What a cleanup removed, and what it could not (empty ``left`` means clean)."""

    removed: tuple[str, ...]
    left: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReverseSource:
    """After re-protect: the replica is the new source, reachable as a fabric."""

    item_id: str
    connection_kind: str
    address: str
    machine: Machine


@dataclass(frozen=True)
class AlternateMachine:
    """A new, empty machine to create on a source fabric: failback to an alternate location.

    ``host`` names where it runs (a host or container of the fabric, as
    discovery reports it). ``disk_capacities`` gives one empty disk per
    entry, in order; ``networks`` one NIC per entry, attached to that
    source network. ``os_type`` is the original's guest family (one of
    :data:`OS_TYPES`, as discovery reports it in ``Machine.os_type``): the
    fabric declares it on the new machine so the guest boots as it did.
    """

    name: str
    host: str
    disk_capacities: tuple[int, ...]
    networks: tuple[str, ...] = ()
    cpu_count: int = 1
    memory_mib: int = 1024
    os_type: str = "windows"

    def __post_init__(self) -> None:
        require_choice("AlternateMachine", "os_type", self.os_type, OS_TYPES)


#: The guest families a new machine can be created for (``Machine.os_type``'s values).
OS_TYPES = ("windows", "linux")
