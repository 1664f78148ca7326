"""Request bodies of the failover family: which items, and each operation's own options.

Every body names its machines either as ``items`` (protected item ids or
machine names) or as a replication ``group``, never both. Only the options
an operation uses are accepted: a planned failover takes no point (it makes
its own final one) and a commit takes no options at all, so a misplaced
option is refused instead of silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from provider.errors import ValidationError
from provider.failover import FailoverOptions, PointChoice, PointSpec
from provider.service.schemas import Body, Name

#: The point words the API takes; anything else is a recovery point id.
POINT_WORDS = (PointChoice.LATEST, PointChoice.LATEST_PROCESSED, PointChoice.LATEST_APP)
MAX_ITEMS = 100

ItemRefs = Annotated[list[Name], Field(max_length=MAX_ITEMS)]
GroupName = Annotated[str, Field(max_length=200)]
PointText = Annotated[str, Field(min_length=1, max_length=200)]


class ItemsBody(Body):
    """The machines an operation runs on: item ids or machine names, or one group."""

    items: ItemRefs = []
    group: GroupName = ""

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if bool(self.items) == bool(self.group):
            raise ValueError("name the machines with either items or group (exactly one)")
        return self

    def options(self) -> FailoverOptions:
        """The failover options this body carries (none: the defaults)."""
        return FailoverOptions()


class PlannedBody(ItemsBody):
    allow_unmapped: bool = False

    def options(self) -> FailoverOptions:
        return FailoverOptions(allow_unmapped=self.allow_unmapped)


class UnplannedBody(ItemsBody):
    point: PointText = PointChoice.LATEST.value
    allow_unmapped: bool = False

    def options(self) -> FailoverOptions:
        return FailoverOptions(point_spec(self.point), allow_unmapped=self.allow_unmapped)


class DrillBody(ItemsBody):
    point: PointText = PointChoice.LATEST.value
    test_network: GroupName = ""
    allow_unmapped: bool = False

    def options(self) -> FailoverOptions:
        return FailoverOptions(
            point_spec(self.point), self.test_network, allow_unmapped=self.allow_unmapped
        )


class FailbackBody(ItemsBody):
    """Failback home, or with ``alternate_host`` to a new machine (named ``name``), on the
    item's fabric or on ``alternate_fabric`` (a registered fabric's id or name)."""

    alternate_host: GroupName = ""
    name: GroupName = ""
    alternate_fabric: GroupName = ""

    @model_validator(mode="after")
    def _name_for_one_new_machine(self) -> Self:
        if self.name and not self.alternate_host:
            raise ValueError("name is the new machine's: give it with alternate_host")
        if self.name and (self.group or len(self.items) != 1):
            raise ValueError("name is one new machine's: give it with exactly one item")
        if self.alternate_fabric and not self.alternate_host:
            raise ValueError(
                "alternate_fabric is where a new machine goes: give its host with alternate_host"
            )
        return self

    def options(self) -> FailoverOptions:
        return FailoverOptions(
            alternate_host=self.alternate_host,
            alternate_name=self.name,
            alternate_fabric=self.alternate_fabric,
        )


def point_spec(text: str) -> PointSpec:
    """``latest``, ``latest-processed``, ``latest-app``, or a recovery point's id."""
    for word in POINT_WORDS:
        if text == word.value:
            return PointSpec(word)
    if text == PointChoice.NAMED.value:
        raise ValidationError(
            "point 'named' is not a recovery point id",
            hint="give latest, latest-processed, latest-app or a point id",
        )
    return PointSpec.named(text)
