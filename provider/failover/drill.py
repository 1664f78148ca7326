"""The drill report: what a test failover proves, machine by machine."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from provider.contracts.failover import FailoverResult
from provider.model.recovery import RecoveryPoint

#: Task output lines carrying a report start with this.
REPORT_PREFIX = "drill report: "


@dataclass(frozen=True)
class DiskCheck:
    """One disk: its digest as materialised on the target vs the source's at the cut."""

    disk_id: str
    source_digest: str
    replica_digest: str

    @property
    def equal(self) -> bool:
        return self.source_digest == self.replica_digest


@dataclass(frozen=True)
class DrillReport:
    """The point a drill used, the machine it started, and every disk checked."""

    item_id: str
    machine_name: str
    point_id: str
    point_created_at: float
    replica_id: str
    replica_name: str
    power_state: str
    network_ids: tuple[str, ...]
    disks: tuple[DiskCheck, ...]

    @property
    def verified(self) -> bool:
        """True when the replica started and every disk equals the source at the point."""
        return self.power_state == "running" and all(disk.equal for disk in self.disks)

    def to_line(self) -> str:
        """The report as one output line of the job."""
        return REPORT_PREFIX + json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_line(cls, line: str) -> DrillReport:
        raw: dict[str, Any] = json.loads(line.removeprefix(REPORT_PREFIX))
        raw["disks"] = tuple(DiskCheck(**disk) for disk in raw["disks"])
        raw["network_ids"] = tuple(raw["network_ids"])
        return cls(**raw)


def drill_report(
    item_id: str, machine_name: str, point: RecoveryPoint, result: FailoverResult
) -> DrillReport:
    """Compare each replica disk with the digest the source had at the point's cut."""
    replica = {disk.disk_id: disk.digest for disk in result.disks}
    checks = tuple(
        DiskCheck(disk.disk_id, disk.digest, replica.get(disk.disk_id, "")) for disk in point.disks
    )
    return DrillReport(
        item_id,
        machine_name,
        point.point_id,
        point.created_at,
        result.replica_id,
        result.replica_name,
        result.power_state,
        tuple(nic.network_id for nic in result.nics),
        checks,
    )


def reports_in(output: str) -> list[DrillReport]:
    """Every drill report a task's output holds."""
    return [
        DrillReport.from_line(line)
        for line in output.splitlines()
        if line.startswith(REPORT_PREFIX)
    ]
