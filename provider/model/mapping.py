"""Network and storage mappings: where a replica's NICs and disks land on the target."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.model.checks import require_id, require_text


class IpPolicy(enum.StrEnum):
    """Keep the source's IP addresses on the target, or let the target assign them."""

    KEEP = "keep"
    ASSIGN = "assign"
    STATIC = "static"


@dataclass(frozen=True)
class NetworkMapping:
    """Source network -> target network, with what happens to IP settings."""

    source_fabric: str
    source_network: str
    target: str
    target_network: str
    ip_policy: IpPolicy = IpPolicy.KEEP
    static_subnet: str = ""

    def __post_init__(self) -> None:
        require_id("NetworkMapping", "source_network", self.source_network)
        require_id("NetworkMapping", "target_network", self.target_network)
        require_text("NetworkMapping", "target", self.target)
        if self.ip_policy is IpPolicy.STATIC:
            try:
                ipaddress.ip_network(self.static_subnet)
            except ValueError as exc:
                raise ValidationError(
                    f"NetworkMapping {self.source_network!r}: static subnet "
                    f"{self.static_subnet!r} is not a network like 10.1.0.0/24"
                ) from exc


@dataclass(frozen=True)
class StorageMapping:
    """Source storage (datastore, CSV, storage pool) -> target storage location."""

    source_fabric: str
    source_storage: str
    target: str
    target_storage: str

    def __post_init__(self) -> None:
        # A source storage is a location (a CSV folder, a datastore path), so
        # separators are allowed; the target side is a storage id.
        require_text("StorageMapping", "source_storage", self.source_storage)
        require_id("StorageMapping", "target_storage", self.target_storage)
        require_text("StorageMapping", "target", self.target)
