"""Native replication driven by the core: targets that replicate by themselves.

A target whose kind declares ``DataPath.NATIVE`` (InMage Scout, Hyper-V
Replica) receives no HRL from srp. The core still owns the protected items,
their states, health and recovery points in the vault, and decides when and
to which point they fail over; these modules carry those decisions to the
target's plugin through the ``srp_native_*`` hooks:

- ``kinds``: is a target (or an item's target) native, and an item's group;
- ``protection``: protect machines toward a native target as one group;
- ``refresh``: state, health, RPO and recovery points from what the target reports;
- ``failover``: unplanned and planned failover, commit and resync of native items.
"""

from provider.native.failover import (
    NativeFailoverPlan,
    check_native_failover,
    run_native_commit,
    run_native_planned,
    run_native_unplanned,
)
from provider.native.kinds import group_of, is_native_item, is_native_target
from provider.native.protection import NativeProtectRequest, protect_native, stop_native
from provider.native.refresh import GroupRefresh, refresh_all, refresh_group

__all__ = [
    "GroupRefresh",
    "NativeFailoverPlan",
    "NativeProtectRequest",
    "check_native_failover",
    "group_of",
    "is_native_item",
    "is_native_target",
    "protect_native",
    "refresh_all",
    "refresh_group",
    "run_native_commit",
    "run_native_planned",
    "run_native_unplanned",
    "stop_native",
]
