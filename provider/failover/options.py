"""What an operator chooses for a failover, and how it travels in a durable job's parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from provider.failover.points import PointChoice, PointSpec


@dataclass(frozen=True)
class FailoverOptions:
    """The point, the drill's isolated network, and the override for unmapped NICs."""

    point: PointSpec = field(default_factory=PointSpec)
    test_network: str = ""
    allow_unmapped: bool = False

    def to_params(self) -> dict[str, str]:
        """The options as a job's text parameters."""
        return {
            "point": self.point.choice.value,
            "point_id": self.point.point_id,
            "test_network": self.test_network,
            "allow_unmapped": "yes" if self.allow_unmapped else "no",
        }

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> FailoverOptions:
        """The options a job was submitted with."""
        point = PointSpec(PointChoice(params.get("point", "latest")), params.get("point_id", ""))
        return cls(point, params.get("test_network", ""), params.get("allow_unmapped") == "yes")
