"""What an operator chooses for a failover, and how it travels in a durable job's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from provider.failover.points import PointChoice, PointSpec


@dataclass(frozen=True)
class FailoverOptions:
    """The point, the drill's isolated network, the override for unmapped NICs, and
    where a failback to an alternate location creates the machine.

    A failback with ``alternate_host`` creates a new machine on that host of
    the item's fabric, or of ``alternate_fabric`` (a registered fabric's id
    or name, of a kind the item's kind fails back to), named
    ``alternate_name`` (empty: the protected machine's name).
    """

    point: PointSpec = field(default_factory=PointSpec)
    test_network: str = ""
    allow_unmapped: bool = False
    alternate_host: str = ""
    alternate_name: str = ""
    alternate_fabric: str = ""

    def to_params(self) -> dict[str, str]:
        """The options as a job's text parameters."""
        return {
            "point": self.point.choice.value,
            "point_id": self.point.point_id,
            "test_network": self.test_network,
            "allow_unmapped": "yes" if self.allow_unmapped else "no",
            "alternate_host": self.alternate_host,
            "alternate_name": self.alternate_name,
            "alternate_fabric": self.alternate_fabric,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> FailoverOptions:
        """The options a job was submitted with."""
        point = PointSpec(PointChoice(params.get("point", "latest")), params.get("point_id", ""))
        return cls(
            point,
            params.get("test_network", ""),
            params.get("allow_unmapped") == "yes",
            params.get("alternate_host", ""),
            params.get("alternate_name", ""),
            params.get("alternate_fabric", ""),
        )
