"""One transaction on the vault, with a repository per aggregate."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from provider.store.fabrics import FabricRepository
from provider.store.identity import IdentityRepository
from provider.store.items import ItemRepository
from provider.store.jobs import JobRepository
from provider.store.mappings import MappingRepository
from provider.store.plans import PlanRepository
from provider.store.points import PointRepository
from provider.store.policies import PolicyRepository
from provider.store.targets import TargetRepository
from provider.store.tokens import TokenRepository


class Unit:
    """Everything done through one Unit commits together or not at all."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.identity = IdentityRepository(connection)
        self.fabrics = FabricRepository(connection)
        self.policies = PolicyRepository(connection)
        self.targets = TargetRepository(connection)
        self.items = ItemRepository(connection)
        self.points = PointRepository(connection)
        self.mappings = MappingRepository(connection)
        self.plans = PlanRepository(connection)
        self.jobs = JobRepository(connection)
        self.tokens = TokenRepository(connection)
