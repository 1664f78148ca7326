"""Native replication driven by the core: targets that replicate by themselves.

A target whose kind declares ``DataPath.NATIVE`` (InMage Scout, Hyper-V
Replica) receives no HRL from srp. The core still owns the protected items,
their states, health and recovery points in the vault, and decides when and
to which point they fail over; these modules carry those decisions to the
target's plugin through the ``srp_native_*`` hooks:

- ``kinds``: is a target (or an item's target) native, and an item's group;
- ``protection``: protect machines toward a native target as one group;
- ``refresh``: state, health, RPO and recovery points from what the target reports;
- ``networks``: where recovered NICs land, from the vault's network mappings;
- ``failover``: unplanned and planned failover, commit and resync of native items;
- ``drill``: test failover and its cleanup;
- ``reverse``: reverse replication after a committed unplanned failover;
- ``failback``: the planned way home for a group replicating in reverse.
"""

from provider.native.drill import (
    NativeDrillPlan,
    check_native_test_failover,
    run_native_cleanup,
    run_native_test_failover,
)
from provider.native.failback import check_native_failback, run_native_failback
from provider.native.failover import (
    NativeFailoverPlan,
    check_native_failover,
    run_native_commit,
    run_native_planned,
    run_native_unplanned,
)
from provider.native.kinds import group_of, implements, is_native_item, is_native_target
from provider.native.protection import NativeProtectRequest, protect_native, stop_native
from provider.native.refresh import GroupRefresh, refresh_all, refresh_group
from provider.native.reverse import check_native_reverse, run_native_reverse

__all__ = [
    "GroupRefresh",
    "NativeDrillPlan",
    "NativeFailoverPlan",
    "NativeProtectRequest",
    "check_native_failback",
    "check_native_failover",
    "check_native_reverse",
    "check_native_test_failover",
    "group_of",
    "implements",
    "is_native_item",
    "is_native_target",
    "protect_native",
    "refresh_all",
    "refresh_group",
    "run_native_cleanup",
    "run_native_commit",
    "run_native_failback",
    "run_native_planned",
    "run_native_reverse",
    "run_native_test_failover",
    "run_native_unplanned",
    "stop_native",
]
