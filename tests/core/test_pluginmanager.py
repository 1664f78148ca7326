"""The plugin manager with plugins registered in process: dispatch, events, errors."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from provider import hookspecs
from provider.contracts.connection import (
    FabricConnection,
    FabricIdentity,
    Secret,
    TargetConnection,
)
from provider.contracts.declarations import FabricKind, FailoverMode, TargetKind
from provider.contracts.events import (
    ActionOutcome,
    FailoverEvent,
    JobProgress,
    JobStateChange,
    PlanActionContext,
    PlanGroupEvent,
)
from provider.contracts.failover import (
    AlternateMachine,
    CleanupResult,
    FailoverRequest,
    FailoverResult,
    PreparedSource,
    ReplicaDisk,
    ReverseSource,
)
from provider.contracts.native import (
    Accuracy,
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativeMachineState,
    NativePoint,
    NativeProtection,
    NativeRecovered,
    PointChoice,
)
from provider.contracts.replica import (
    BlockDigest,
    ChangeMode,
    Cut,
    CutRequest,
    DiskChanges,
    ExtentData,
    TrackingInfo,
)
from provider.contracts.transfer import (
    AppliedHrl,
    DiskRef,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.errors import (
    FabricUnreachable,
    NoPluginForKind,
    PluginConflict,
    PluginHookError,
    PluginLoadError,
)
from provider.hookspecs import hookimpl
from provider.model import (
    Consistency,
    Disk,
    DiskPoint,
    Inventory,
    Job,
    JobState,
    Machine,
    Network,
    PlanAction,
    PlanGroup,
    RecoveryPlan,
    RecoveryPoint,
    ReplicationPolicy,
)
from provider.model.plan import ActionKind
from provider.model.states import Health, ReplicationState
from provider.plugin_loading import PluginSettings, PluginSource
from provider.plugin_status import PluginInfo, PluginStatus
from provider.pluginmanager import PluginManager

T = TypeVar("T")

# pluggy warns when a call leaves out a spec argument: here that is a facade bug.
pytestmark = pytest.mark.filterwarnings("error")

CONN = FabricConnection("fab-1", "lab", "lab.example", "admin", Secret("hunter2"))
MACHINE = Machine("vm-1", "web01", "site-1", disks=(Disk("disk-0", "os", 4096),))
IDENTITY = FabricIdentity("lab01", "lab", "10.0", "srv-1")
INVENTORY = Inventory(machines=(MACHINE,))
TRACKING = TrackingInfo("vm-1", "cut-0", ("disk-0",))
CUT_REQUEST = CutRequest("cut-1", (MACHINE,), ())
CUT = Cut(
    "cut-1",
    10.0,
    Consistency.CRASH,
    (DiskChanges("vm-1", "disk-0", 4096, ChangeMode.FULL, ((0, 4096),)),),
)
EXTENTS = (ExtentData(0, b"\x01" * 16), ExtentData(16, b"\x02" * 16))
DIGESTS = (BlockDigest(0, b"\x03" * 32), BlockDigest(4096, b"\x04" * 32))
PREPARED = PreparedSource("vm-1", "off")
ALTERNATE = AlternateMachine("web01-b", "hv02", (4096,), ("net-1",))

TARGET = TargetConnection("tgt-1", "vault", "eu-west", Secret("s3cret-key"))
DISK = DiskRef("item-1", "disk-0", 4096)
TARGET_INFO = TargetInfo("tgt-1", "vault", 1 << 30, "2.1")
HOLDINGS = Holdings(DISK, 3, b"\x05" * 32, (4,))
APPLIED = AppliedHrl(DISK, 4, b"\x06" * 32)
POINT = RecoveryPoint(
    "pt-1", "item-1", "cut-1", 10.0, Consistency.CRASH, (DiskPoint("disk-0", 4, "a" * 64),)
)
QUERY = PointQuery(DISK, POINT)
RETENTION = RetentionResult(("pt-0",), 8192)
FAILOVER_REQUEST = FailoverRequest("item-1", MACHINE, POINT, FailoverMode.TEST)
FAILOVER_RESULT = FailoverResult(
    "item-1", "rep-1", "web01-test", "running", (ReplicaDisk("disk-0", "a" * 64),)
)
CLEANUP = CleanupResult(("rep-1", "disk-0.cow"))
REVERSE = ReverseSource("item-1", "lab", "10.0.0.5", MACHINE)
NETWORKS = (Network("vnet-1", "prod"), Network("test-1", "drill", isolated=True))
PROTECTION = NativeProtection("grp-1", (MACHINE,), retention_hours=72)
GROUP_STATE = NativeGroupState(
    "grp-1", (NativeMachineState("vm-1", ReplicationState.PROTECTED, Health.NORMAL),)
)
NATIVE_POINTS = (NativePoint("tag-1", 10.0, Consistency.APP, Accuracy.EXACT, ("vm-1",)),)
NATIVE_FAILOVER = NativeFailover("grp-1", ("vm-1",), PointChoice.LATEST_COMMON)
NATIVE_RESULT = NativeFailoverResult(
    "grp-1", (NativeRecovered("vm-1", "rep-1", "tag-1", 10.0, (ReplicaDisk("disk-0", "a" * 64),)),)
)

PLAN_GROUP = PlanGroup("group-1", ("vm-1",))
PLAN = RecoveryPlan("plan-1", (PLAN_GROUP,))
ACTION_CONTEXT = PlanActionContext(
    PLAN, PLAN_GROUP, FailoverMode.TEST, PlanAction("flush-dns", ActionKind.HOOK)
)
JOB = Job("job-1", "failover", "item-1", JobState.RUNNING)


class Recorder:
    """Base of the fakes: records every hook call as (hook, arguments)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def record(self, hook: str, answer: T, **kwargs: Any) -> T:
        self.calls.append((hook, kwargs))
        return answer


class LabFabric(Recorder):
    """Implements every fabric-side hook with fixed answers."""

    def __init__(self, kind: str = "lab") -> None:
        super().__init__()
        self.kind = kind

    @hookimpl
    def srp_fabric_kinds(self) -> Sequence[FabricKind]:
        return [FabricKind(self.kind, f"{self.kind} fabric")]

    @hookimpl
    def srp_connect(self, connection: FabricConnection) -> FabricIdentity:
        return self.record("srp_connect", IDENTITY, connection=connection)

    @hookimpl
    def srp_discover(self, connection: FabricConnection) -> Inventory:
        return self.record("srp_discover", INVENTORY, connection=connection)

    @hookimpl
    def srp_disconnect(self, connection: FabricConnection) -> None:
        self.record("srp_disconnect", None, connection=connection)

    @hookimpl
    def srp_enable_tracking(self, connection: FabricConnection, machine: Machine) -> TrackingInfo:
        return self.record("srp_enable_tracking", TRACKING, connection=connection, machine=machine)

    @hookimpl
    def srp_disable_tracking(self, connection: FabricConnection, machine: Machine) -> None:
        self.record("srp_disable_tracking", None, connection=connection, machine=machine)

    @hookimpl
    def srp_capture_cut(self, connection: FabricConnection, request: CutRequest) -> Cut:
        return self.record("srp_capture_cut", CUT, connection=connection, request=request)

    @hookimpl
    def srp_read_extents(
        self,
        connection: FabricConnection,
        cut: Cut,
        machine_id: str,
        disk_id: str,
        extents: Sequence[tuple[int, int]],
    ) -> Iterator[ExtentData]:
        kwargs = {"cut": cut, "machine_id": machine_id, "disk_id": disk_id, "extents": extents}
        return self.record("srp_read_extents", iter(EXTENTS), connection=connection, **kwargs)

    @hookimpl
    def srp_block_digests(
        self, connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
    ) -> Iterator[BlockDigest]:
        kwargs = {"cut": cut, "machine_id": machine_id, "disk_id": disk_id}
        return self.record(
            "srp_block_digests",
            iter(DIGESTS),
            connection=connection,
            block_size=block_size,
            **kwargs,
        )

    @hookimpl
    def srp_release_cut(self, connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
        self.record("srp_release_cut", None, connection=connection, cut=cut, confirmed=confirmed)

    @hookimpl
    def srp_prepare_failover(
        self, connection: FabricConnection, machine: Machine
    ) -> PreparedSource:
        return self.record("srp_prepare_failover", PREPARED, connection=connection, machine=machine)

    @hookimpl
    def srp_resume_source(self, connection: FabricConnection, machine: Machine) -> None:
        self.record("srp_resume_source", None, connection=connection, machine=machine)

    @hookimpl
    def srp_write_extents(
        self,
        connection: FabricConnection,
        machine: Machine,
        disk_id: str,
        extents: Sequence[ExtentData],
    ) -> None:
        kwargs = {"machine": machine, "disk_id": disk_id, "extents": extents}
        self.record("srp_write_extents", None, connection=connection, **kwargs)

    @hookimpl
    def srp_create_machine(self, connection: FabricConnection, spec: AlternateMachine) -> Machine:
        return self.record("srp_create_machine", MACHINE, connection=connection, spec=spec)

    @hookimpl
    def srp_check_failback(self, connection: FabricConnection, machine: Machine) -> None:
        self.record("srp_check_failback", None, connection=connection, machine=machine)


class LabTarget(Recorder):
    """Implements every target-side hook with fixed answers."""

    def __init__(self, kind: str = "vault") -> None:
        super().__init__()
        self.kind = kind

    @hookimpl
    def srp_target_kinds(self) -> Sequence[TargetKind]:
        return (TargetKind(self.kind, f"{self.kind} target"),)

    @hookimpl
    def srp_open_target(self, target: TargetConnection) -> TargetInfo:
        return self.record("srp_open_target", TARGET_INFO, target=target)

    @hookimpl
    def srp_target_holdings(self, target: TargetConnection, disk: DiskRef) -> Holdings:
        return self.record("srp_target_holdings", HOLDINGS, target=target, disk=disk)

    @hookimpl
    def srp_store_hrl(
        self, target: TargetConnection, disk: DiskRef, sequence: int, path: Path
    ) -> None:
        self.record("srp_store_hrl", None, target=target, disk=disk, sequence=sequence, path=path)

    @hookimpl
    def srp_apply_hrl(
        self, target: TargetConnection, disk: DiskRef, sequence: int, key: bytes | None
    ) -> AppliedHrl:
        kwargs = {"disk": disk, "sequence": sequence, "key": key}
        return self.record("srp_apply_hrl", APPLIED, target=target, **kwargs)

    @hookimpl
    def srp_replica_digests(
        self, target: TargetConnection, disk: DiskRef, block_size: int
    ) -> Iterator[BlockDigest]:
        kwargs = {"disk": disk, "block_size": block_size}
        return self.record("srp_replica_digests", iter(DIGESTS), target=target, **kwargs)

    @hookimpl
    def srp_point_digest(self, target: TargetConnection, query: PointQuery) -> str:
        return self.record("srp_point_digest", "a" * 64, target=target, query=query)

    @hookimpl
    def srp_apply_retention(
        self, target: TargetConnection, disk: DiskRef, oldest_kept_sequence: int
    ) -> RetentionResult:
        kwargs = {"disk": disk, "oldest_kept_sequence": oldest_kept_sequence}
        return self.record("srp_apply_retention", RETENTION, target=target, **kwargs)

    @hookimpl
    def srp_target_networks(self, target: TargetConnection) -> Sequence[Network]:
        return self.record("srp_target_networks", NETWORKS, target=target)

    @hookimpl
    def srp_failover(self, target: TargetConnection, request: FailoverRequest) -> FailoverResult:
        return self.record("srp_failover", FAILOVER_RESULT, target=target, request=request)

    @hookimpl
    def srp_commit_failover(self, target: TargetConnection, item_id: str, replica_id: str) -> None:
        kwargs = {"item_id": item_id, "replica_id": replica_id}
        self.record("srp_commit_failover", None, target=target, **kwargs)

    @hookimpl
    def srp_cancel_failover(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> CleanupResult:
        kwargs = {"item_id": item_id, "replica_id": replica_id}
        return self.record("srp_cancel_failover", CLEANUP, target=target, **kwargs)

    @hookimpl
    def srp_cleanup_test_failover(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> CleanupResult:
        kwargs = {"item_id": item_id, "replica_id": replica_id}
        return self.record("srp_cleanup_test_failover", CLEANUP, target=target, **kwargs)

    @hookimpl
    def srp_reverse_replication(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> ReverseSource:
        kwargs = {"item_id": item_id, "replica_id": replica_id}
        return self.record("srp_reverse_replication", REVERSE, target=target, **kwargs)

    @hookimpl
    def srp_native_protect(
        self, target: TargetConnection, request: NativeProtection
    ) -> NativeGroupState:
        return self.record("srp_native_protect", GROUP_STATE, target=target, request=request)

    @hookimpl
    def srp_native_state(self, target: TargetConnection, group_id: str) -> NativeGroupState:
        return self.record("srp_native_state", GROUP_STATE, target=target, group_id=group_id)

    @hookimpl
    def srp_native_points(self, target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
        return self.record("srp_native_points", NATIVE_POINTS, target=target, group_id=group_id)

    @hookimpl
    def srp_native_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        return self.record("srp_native_failover", NATIVE_RESULT, target=target, request=request)

    @hookimpl
    def srp_native_test_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        return self.record(
            "srp_native_test_failover", NATIVE_RESULT, target=target, request=request
        )

    @hookimpl
    def srp_native_cleanup_test(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> CleanupResult:
        kwargs = {"group_id": group_id, "machine_ids": machine_ids}
        return self.record("srp_native_cleanup_test", CLEANUP, target=target, **kwargs)

    @hookimpl
    def srp_native_reverse(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        kwargs = {"group_id": group_id, "machine_ids": machine_ids}
        return self.record("srp_native_reverse", GROUP_STATE, target=target, **kwargs)

    @hookimpl
    def srp_native_resync(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        kwargs = {"group_id": group_id, "machine_ids": machine_ids}
        return self.record("srp_native_resync", GROUP_STATE, target=target, **kwargs)

    @hookimpl
    def srp_native_stop(self, target: TargetConnection, group_id: str) -> None:
        self.record("srp_native_stop", None, target=target, group_id=group_id)


class Listener(Recorder):
    """Implements the event hooks; answers policy checks and plan actions as told."""

    def __init__(self, problems: Sequence[str] = (), outcome: ActionOutcome | None = None) -> None:
        super().__init__()
        self.problems = problems
        self.outcome = outcome

    @hookimpl
    def srp_job_progress(self, event: JobProgress) -> None:
        self.record("srp_job_progress", None, event=event)

    @hookimpl
    def srp_job_state_changed(self, event: JobStateChange) -> None:
        self.record("srp_job_state_changed", None, event=event)

    @hookimpl
    def srp_before_failover(self, event: FailoverEvent) -> None:
        self.record("srp_before_failover", None, event=event)

    @hookimpl
    def srp_after_failover(self, event: FailoverEvent) -> None:
        self.record("srp_after_failover", None, event=event)

    @hookimpl
    def srp_before_plan_group(self, event: PlanGroupEvent) -> None:
        self.record("srp_before_plan_group", None, event=event)

    @hookimpl
    def srp_after_plan_group(self, event: PlanGroupEvent) -> None:
        self.record("srp_after_plan_group", None, event=event)

    @hookimpl
    def srp_validate_policy(self, policy: ReplicationPolicy, fabric_kind: str) -> Sequence[str]:
        kwargs = {"policy": policy, "fabric_kind": fabric_kind}
        return self.record("srp_validate_policy", self.problems, **kwargs)

    @hookimpl
    def srp_run_plan_action(self, context: PlanActionContext) -> ActionOutcome | None:
        return self.record("srp_run_plan_action", self.outcome, context=context)


class MiniFabric:
    """A fabric plugin that implements only connect, answering whatever it is given."""

    def __init__(self, answer: object, kind: str = "mini") -> None:
        self.answer = answer
        self.kind = kind

    @hookimpl
    def srp_fabric_kinds(self) -> Sequence[FabricKind]:
        return [FabricKind(self.kind, "Mini fabric")]

    @hookimpl
    def srp_connect(self, connection: FabricConnection) -> object:
        return self.answer


class Declares:
    """A plugin whose fabric declaration is whatever the test gives (or raises)."""

    def __init__(self, declared: object) -> None:
        self.declared = declared

    @hookimpl
    def srp_fabric_kinds(self) -> object:
        if isinstance(self.declared, Exception):
            raise self.declared
        return self.declared


class StreamingFabric(MiniFabric):
    """Streams extents, then fails with the given error mid-stream."""

    def __init__(self, error: Exception, items: Sequence[object] = EXTENTS[:1]) -> None:
        super().__init__(IDENTITY, kind="stream")
        self.error = error
        self.items = items
        self.closed = False

    @hookimpl
    def srp_read_extents(
        self,
        connection: FabricConnection,
        cut: Cut,
        machine_id: str,
        disk_id: str,
        extents: Sequence[tuple[int, int]],
    ) -> Iterator[object]:
        try:
            yield from self.items
            raise self.error
        finally:
            self.closed = True


def lab_manager(**plugins: object) -> PluginManager:
    manager = PluginManager()
    for name, plugin in plugins.items():
        manager.register(plugin, name=name)
    return manager


def stream_conn() -> FabricConnection:
    return FabricConnection("fab-2", "stream", "s.example")


FABRIC_CASES = [
    ("connect", (CONN,), "srp_connect", {"connection": CONN}, IDENTITY),
    ("discover", (CONN,), "srp_discover", {"connection": CONN}, INVENTORY),
    ("disconnect", (CONN,), "srp_disconnect", {"connection": CONN}, None),
    (
        "enable_tracking",
        (CONN, MACHINE),
        "srp_enable_tracking",
        {"connection": CONN, "machine": MACHINE},
        TRACKING,
    ),
    (
        "disable_tracking",
        (CONN, MACHINE),
        "srp_disable_tracking",
        {"connection": CONN, "machine": MACHINE},
        None,
    ),
    (
        "capture_cut",
        (CONN, CUT_REQUEST),
        "srp_capture_cut",
        {"connection": CONN, "request": CUT_REQUEST},
        CUT,
    ),
    (
        "read_extents",
        (CONN, CUT, "vm-1", "disk-0", [(0, 32)]),
        "srp_read_extents",
        {
            "connection": CONN,
            "cut": CUT,
            "machine_id": "vm-1",
            "disk_id": "disk-0",
            "extents": [(0, 32)],
        },
        list(EXTENTS),
    ),
    (
        "block_digests",
        (CONN, CUT, "vm-1", "disk-0", 4096),
        "srp_block_digests",
        {
            "connection": CONN,
            "cut": CUT,
            "machine_id": "vm-1",
            "disk_id": "disk-0",
            "block_size": 4096,
        },
        list(DIGESTS),
    ),
    (
        "release_cut",
        (CONN, CUT, True),
        "srp_release_cut",
        {"connection": CONN, "cut": CUT, "confirmed": True},
        None,
    ),
    (
        "prepare_failover",
        (CONN, MACHINE),
        "srp_prepare_failover",
        {"connection": CONN, "machine": MACHINE},
        PREPARED,
    ),
    (
        "resume_source",
        (CONN, MACHINE),
        "srp_resume_source",
        {"connection": CONN, "machine": MACHINE},
        None,
    ),
    (
        "write_extents",
        (CONN, MACHINE, "disk-0", EXTENTS),
        "srp_write_extents",
        {"connection": CONN, "machine": MACHINE, "disk_id": "disk-0", "extents": EXTENTS},
        None,
    ),
    (
        "create_machine",
        (CONN, ALTERNATE),
        "srp_create_machine",
        {"connection": CONN, "spec": ALTERNATE},
        MACHINE,
    ),
    (
        "check_failback",
        (CONN, MACHINE),
        "srp_check_failback",
        {"connection": CONN, "machine": MACHINE},
        None,
    ),
]

IDS = {"target": TARGET, "item_id": "item-1", "replica_id": "rep-1"}
TARGET_CASES = [
    ("open_target", (TARGET,), "srp_open_target", {"target": TARGET}, TARGET_INFO),
    ("target_networks", (TARGET,), "srp_target_networks", {"target": TARGET}, NETWORKS),
    (
        "target_holdings",
        (TARGET, DISK),
        "srp_target_holdings",
        {"target": TARGET, "disk": DISK},
        HOLDINGS,
    ),
    (
        "store_hrl",
        (TARGET, DISK, 4, Path("/cache/4.hrl")),
        "srp_store_hrl",
        {"target": TARGET, "disk": DISK, "sequence": 4, "path": Path("/cache/4.hrl")},
        None,
    ),
    (
        "apply_hrl",
        (TARGET, DISK, 4, b"k" * 32),
        "srp_apply_hrl",
        {"target": TARGET, "disk": DISK, "sequence": 4, "key": b"k" * 32},
        APPLIED,
    ),
    (
        "replica_digests",
        (TARGET, DISK, 4096),
        "srp_replica_digests",
        {"target": TARGET, "disk": DISK, "block_size": 4096},
        list(DIGESTS),
    ),
    (
        "point_digest",
        (TARGET, QUERY),
        "srp_point_digest",
        {"target": TARGET, "query": QUERY},
        "a" * 64,
    ),
    (
        "apply_retention",
        (TARGET, DISK, 3),
        "srp_apply_retention",
        {"target": TARGET, "disk": DISK, "oldest_kept_sequence": 3},
        RETENTION,
    ),
    (
        "failover",
        (TARGET, FAILOVER_REQUEST),
        "srp_failover",
        {"target": TARGET, "request": FAILOVER_REQUEST},
        FAILOVER_RESULT,
    ),
    ("commit_failover", (TARGET, "item-1", "rep-1"), "srp_commit_failover", IDS, None),
    ("cancel_failover", (TARGET, "item-1", "rep-1"), "srp_cancel_failover", IDS, CLEANUP),
    (
        "cleanup_test_failover",
        (TARGET, "item-1", "rep-1"),
        "srp_cleanup_test_failover",
        IDS,
        CLEANUP,
    ),
    ("reverse_replication", (TARGET, "item-1", "rep-1"), "srp_reverse_replication", IDS, REVERSE),
    (
        "native_protect",
        (TARGET, PROTECTION),
        "srp_native_protect",
        {"target": TARGET, "request": PROTECTION},
        GROUP_STATE,
    ),
    (
        "native_state",
        (TARGET, "grp-1"),
        "srp_native_state",
        {"target": TARGET, "group_id": "grp-1"},
        GROUP_STATE,
    ),
    (
        "native_points",
        (TARGET, "grp-1"),
        "srp_native_points",
        {"target": TARGET, "group_id": "grp-1"},
        NATIVE_POINTS,
    ),
    (
        "native_failover",
        (TARGET, NATIVE_FAILOVER),
        "srp_native_failover",
        {"target": TARGET, "request": NATIVE_FAILOVER},
        NATIVE_RESULT,
    ),
    (
        "native_test_failover",
        (TARGET, NATIVE_FAILOVER),
        "srp_native_test_failover",
        {"target": TARGET, "request": NATIVE_FAILOVER},
        NATIVE_RESULT,
    ),
    (
        "native_cleanup_test",
        (TARGET, "grp-1", ("vm-1",)),
        "srp_native_cleanup_test",
        {"target": TARGET, "group_id": "grp-1", "machine_ids": ("vm-1",)},
        CLEANUP,
    ),
    (
        "native_reverse",
        (TARGET, "grp-1", ("vm-1",)),
        "srp_native_reverse",
        {"target": TARGET, "group_id": "grp-1", "machine_ids": ("vm-1",)},
        GROUP_STATE,
    ),
    (
        "native_resync",
        (TARGET, "grp-1", ("vm-1",)),
        "srp_native_resync",
        {"target": TARGET, "group_id": "grp-1", "machine_ids": ("vm-1",)},
        GROUP_STATE,
    ),
    (
        "native_stop",
        (TARGET, "grp-1"),
        "srp_native_stop",
        {"target": TARGET, "group_id": "grp-1"},
        None,
    ),
]


def answer_of(result: object) -> object:
    """Streams come back as iterators: compare their items."""
    return list(result) if isinstance(result, Iterator) else result


SPEC_NAMES = sorted(n for n in vars(hookspecs) if n.startswith("srp_"))


@pytest.mark.parametrize("hook", SPEC_NAMES)
def test_every_hook_has_a_facade_method_with_its_parameters(hook: str) -> None:
    spec = inspect.signature(getattr(hookspecs, hook))
    method = inspect.signature(getattr(PluginManager, hook.removeprefix("srp_")))
    wanted = [(p.name, p.annotation) for p in spec.parameters.values()]
    assert [(p.name, p.annotation) for p in method.parameters.values()][1:] == wanted


def test_the_cases_below_cover_every_dispatched_hook() -> None:
    covered = {case[2] for case in FABRIC_CASES + TARGET_CASES}
    events = {"srp_fabric_kinds", "srp_target_kinds", "srp_validate_policy", "srp_run_plan_action"}
    events |= {n for n in SPEC_NAMES if n.startswith(("srp_job_", "srp_before_", "srp_after_"))}
    assert sorted(covered | events) == SPEC_NAMES
    assert covered.isdisjoint(events)


@pytest.mark.parametrize(("method", "args", "hook", "kwargs", "expected"), FABRIC_CASES)
def test_every_fabric_hook_reaches_only_the_serving_plugin(
    method: str, args: tuple[object, ...], hook: str, kwargs: dict[str, Any], expected: object
) -> None:
    lab, bystander = LabFabric("lab"), LabFabric("lab-two")
    manager = lab_manager(lab=lab, bystander=bystander)
    assert answer_of(getattr(manager, method)(*args)) == expected
    assert lab.calls == [(hook, kwargs)]
    assert bystander.calls == []


@pytest.mark.parametrize(("method", "args", "hook", "kwargs", "expected"), TARGET_CASES)
def test_every_target_hook_reaches_only_the_serving_plugin(
    method: str, args: tuple[object, ...], hook: str, kwargs: dict[str, Any], expected: object
) -> None:
    vault, bystander = LabTarget("vault"), LabTarget("vault-two")
    manager = lab_manager(vault=vault, bystander=bystander)
    assert answer_of(getattr(manager, method)(*args)) == expected
    assert vault.calls == [(hook, kwargs)]
    assert bystander.calls == []


def test_in_process_plugins_are_listed_with_kinds_and_hooks() -> None:
    manager = lab_manager(lab=LabFabric(), vault=LabTarget())
    lab, vault = manager.plugins()
    assert lab == PluginInfo(
        name="lab",
        kinds=("lab",),
        hooks=tuple(sorted([case[2] for case in FABRIC_CASES] + ["srp_fabric_kinds"])),
    )
    assert vault.target_kinds == ("vault",)
    assert vault.hooks == tuple(sorted([case[2] for case in TARGET_CASES] + ["srp_target_kinds"]))
    assert (lab.origin, lab.status, lab.loaded) == ("registered in process", "loaded", True)
    assert manager.fabric_kind("lab") == FabricKind("lab", "lab fabric")
    assert manager.target_kind("vault") == TargetKind("vault", "vault target")
    assert manager.fabric_kinds() == [FabricKind("lab", "lab fabric")]
    assert manager.target_kinds() == [TargetKind("vault", "vault target")]


def test_kinds_are_listed_sorted() -> None:
    manager = lab_manager(z=LabFabric("zeta"), a=LabFabric("alpha"), m=LabFabric("mu"))
    assert [k.kind for k in manager.fabric_kinds()] == ["alpha", "mu", "zeta"]


def test_unserved_kind_names_the_served_ones() -> None:
    manager = lab_manager(lab=LabFabric(), other=LabFabric("other"))
    with pytest.raises(NoPluginForKind) as caught:
        manager.connect(FabricConnection("fab-9", "vmware", "vc.example"))
    assert str(caught.value) == (
        "no plugin serves fabric kind 'vmware'; served fabric kinds: lab, other "
        "(install the plugin for 'vmware', or check SRP_DISABLE_PLUGINS)"
    )
    with pytest.raises(NoPluginForKind) as caught:
        manager.target_kind("vault")
    assert str(caught.value) == (
        "no plugin serves target kind 'vault'; served target kinds: none "
        "(install the plugin for 'vault', or check SRP_DISABLE_PLUGINS)"
    )


def test_a_hook_the_serving_plugin_lacks_is_refused_by_name() -> None:
    manager = lab_manager(mini=MiniFabric(IDENTITY))
    connection = FabricConnection("fab-1", "mini", "m.example")
    with pytest.raises(NoPluginForKind) as caught:
        manager.capture_cut(connection, CUT_REQUEST)
    assert str(caught.value) == (
        "plugin 'mini' serves fabric kind 'mini' but does not implement srp_capture_cut "
        "(this kind does not support the operation; upgrading the plugin may add it)"
    )
    assert manager.connect(connection) == IDENTITY


def test_disconnect_is_optional() -> None:
    manager = lab_manager(mini=MiniFabric(IDENTITY))
    # No NoPluginForKind: a plugin that keeps no session has nothing to drop.
    manager.disconnect(FabricConnection("fab-1", "mini", "m.example"))


def test_the_failback_check_is_optional() -> None:
    manager = lab_manager(mini=MiniFabric(IDENTITY))
    # No NoPluginForKind: a kind that needs no setup to be written to has nothing to check.
    manager.check_failback(FabricConnection("fab-1", "mini", "m.example"), MACHINE)


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ({"name": "lab01"}, "{'name': 'lab01'}"),
        (None, "None"),
        ("x" * 400, "'" + "x" * 296 + "..."),
    ],
)
def test_a_wrong_result_type_is_a_plugin_hook_error(answer: object, shown: str) -> None:
    manager = lab_manager(mini=MiniFabric(answer))
    with pytest.raises(PluginHookError) as caught:
        manager.connect(FabricConnection("fab-1", "mini", "m.example"))
    assert str(caught.value) == (
        f"plugin 'mini' (registered in process) returned {shown} from srp_connect, "
        "expected FabricIdentity"
    )


def test_a_stream_maps_errors_raised_while_iterating() -> None:
    plugin = StreamingFabric(OSError("disk read failed"))
    manager = lab_manager(stream=plugin)
    extents = manager.read_extents(stream_conn(), CUT, "vm-1", "disk-0", [(0, 16)])
    assert next(extents) == EXTENTS[0]
    with pytest.raises(PluginHookError) as caught:
        next(extents)
    assert str(caught.value) == (
        "plugin 'stream' (registered in process) failed in srp_read_extents: "
        "OSError: disk read failed (this is a bug in the plugin; report it to its maintainers)"
    )
    assert type(caught.value.__cause__) is OSError


def test_a_stream_lets_srp_errors_through_and_closes_the_plugin_iterator() -> None:
    plugin = StreamingFabric(FabricUnreachable("host lab01 stopped answering"))
    manager = lab_manager(stream=plugin)
    extents = manager.read_extents(stream_conn(), CUT, "vm-1", "disk-0", [(0, 16)])
    with pytest.raises(FabricUnreachable, match=r"^host lab01 stopped answering$"):
        list(extents)
    assert plugin.closed


def test_a_stream_abandoned_early_closes_the_plugin_iterator() -> None:
    plugin = StreamingFabric(RuntimeError("never reached"), items=EXTENTS)
    manager = lab_manager(stream=plugin)
    extents = manager.read_extents(stream_conn(), CUT, "vm-1", "disk-0", [(0, 32)])
    assert next(extents) == EXTENTS[0]
    extents.close()  # type: ignore[attr-defined]
    assert plugin.closed


def test_a_stream_item_of_the_wrong_type_is_refused() -> None:
    manager = lab_manager(stream=StreamingFabric(RuntimeError("unused"), items=[b"raw"]))
    extents = manager.read_extents(stream_conn(), CUT, "vm-1", "disk-0", [(0, 3)])
    with pytest.raises(PluginHookError) as caught:
        next(extents)
    assert str(caught.value) == (
        "plugin 'stream' (registered in process) returned <3 bytes> from srp_read_extents, "
        "expected ExtentData"
    )


def test_events_reach_every_implementing_plugin() -> None:
    first, second = Listener(), Listener()
    manager = lab_manager(first=first, lab=LabFabric(), second=second)
    progress = JobProgress(JOB)
    changed = JobStateChange(JOB, JobState.QUEUED)
    failover = FailoverEvent("item-1", "web01", FailoverMode.TEST, "pt-1")
    group = PlanGroupEvent(PLAN, PLAN_GROUP, FailoverMode.TEST)
    manager.job_progress(progress)
    manager.job_state_changed(changed)
    manager.before_failover(failover)
    manager.after_failover(failover)
    manager.before_plan_group(group)
    manager.after_plan_group(group)
    expected = [
        ("srp_job_progress", {"event": progress}),
        ("srp_job_state_changed", {"event": changed}),
        ("srp_before_failover", {"event": failover}),
        ("srp_after_failover", {"event": failover}),
        ("srp_before_plan_group", {"event": group}),
        ("srp_after_plan_group", {"event": group}),
    ]
    assert first.calls == expected
    assert second.calls == expected


def test_policy_problems_are_collected_from_every_plugin() -> None:
    manager = lab_manager(
        quiet=Listener(),
        strict=Listener(problems=["lab fabrics need 300 s"]),
        stricter=Listener(problems=("no encryption on lab", "retention too long")),
    )
    policy = ReplicationPolicy("gold")
    # pluggy calls the plugin registered last first.
    assert manager.validate_policy(policy, "lab") == [
        "no encryption on lab",
        "retention too long",
        "lab fabrics need 300 s",
    ]


def test_policy_problems_must_be_a_sequence_of_text() -> None:
    manager = lab_manager(sloppy=Listener(problems="too fast"))
    with pytest.raises(PluginHookError) as caught:
        manager.validate_policy(ReplicationPolicy("gold"), "lab")
    assert str(caught.value) == (
        "plugin 'sloppy' (registered in process) returned 'too fast' from srp_validate_policy, "
        "expected a sequence of str"
    )


def test_plan_action_takes_the_first_answer() -> None:
    unaware, answering, shadowed = (
        Listener(),
        Listener(outcome=ActionOutcome(True, "flushed")),
        Listener(outcome=ActionOutcome(False, "not me")),
    )
    manager = lab_manager(shadowed=shadowed, answering=answering, unaware=unaware)
    assert manager.run_plan_action(ACTION_CONTEXT) == ActionOutcome(True, "flushed")
    assert [len(p.calls) for p in (unaware, answering, shadowed)] == [1, 1, 0]


def test_plan_action_nobody_knows_is_none() -> None:
    assert lab_manager(unaware=Listener()).run_plan_action(ACTION_CONTEXT) is None
    assert PluginManager().run_plan_action(ACTION_CONTEXT) is None


def test_an_event_hook_error_names_the_plugin_that_raised() -> None:
    class Broken(Listener):
        @hookimpl
        def srp_job_progress(self, event: JobProgress) -> None:
            raise KeyError("task-9")

    manager = lab_manager(fine=Listener(), broken=Broken())
    with pytest.raises(PluginHookError) as caught:
        manager.job_progress(JobProgress(JOB))
    assert str(caught.value) == (
        "plugin 'broken' (registered in process) failed in srp_job_progress: KeyError: 'task-9' "
        "(this is a bug in the plugin; report it to its maintainers)"
    )


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        (["lab"], "srp_fabric_kinds returned ['lab'], expected a sequence of FabricKind"),
        (
            {"kind": "lab"},
            "srp_fabric_kinds returned {'kind': 'lab'}, expected a sequence of FabricKind",
        ),
        (
            [TargetKind("lab", "Lab")],
            "srp_fabric_kinds returned [TargetKind(kind='lab', title='Lab', data_path=<DataPath"
            ".HRL: 'hrl'>, parameters=(), failover_modes=(<FailoverMode.TEST: 'test'>, <Failove"
            "rMode.PLANNED: 'planned'>, <FailoverMode.UNPLANNED: 'unplanned'>, <FailoverMode.FA"
            "ILBACK: 'failback'>), latest_only=False)], expected a sequence of FabricKind",
        ),
        (
            [FabricKind("lab", "Lab"), FabricKind("lab", "Lab again")],
            "srp_fabric_kinds declares kind 'lab' more than once",
        ),
        (
            RuntimeError("catalogue offline"),
            "srp_fabric_kinds raised RuntimeError: catalogue offline",
        ),
    ],
)
def test_a_bad_declaration_fails_the_plugin(declared: object, reason: str) -> None:
    manager = lab_manager(good=LabFabric("good"))
    with pytest.raises(PluginLoadError) as caught:
        manager.register(Declares(declared), name="bad")
    assert str(caught.value) == f"plugin 'bad' was refused: {reason}"
    assert manager.plugins()[1] == PluginInfo("bad", status=PluginStatus.FAILED, reason=reason)
    assert [k.kind for k in manager.fabric_kinds()] == ["good"]
    # The refused plugin was unregistered: the same object can come back under its name.
    assert manager.register(Declares([]), name="bad").loaded


def test_a_declaration_building_an_invalid_kind_fails_the_plugin() -> None:
    class Invalid:
        @hookimpl
        def srp_fabric_kinds(self) -> Sequence[FabricKind]:
            return [FabricKind("Lab Fabric", "Lab")]

    with pytest.raises(PluginLoadError) as caught:
        lab_manager(invalid=Invalid())
    assert str(caught.value) == (
        "plugin 'invalid' was refused: srp_fabric_kinds raised ValidationError: FabricKind: "
        "kind 'Lab Fabric' must be 2-32 lowercase letters, digits or dashes, starting with a letter"
    )


def test_an_in_process_conflict_refuses_the_newcomer() -> None:
    first, second = LabFabric("lab"), LabFabric("lab")
    manager = lab_manager(first=first)
    with pytest.raises(PluginConflict) as caught:
        manager.register(second, name="second", distribution="lab-plus", version="2.0")
    assert str(caught.value) == (
        "fabric kind 'lab' is claimed by two plugins: 'first' (registered in process) and "
        "'second' (lab-plus 2.0) (uninstall one of them or block one with "
        "SRP_DISABLE_PLUGINS=second)"
    )
    assert [p.name for p in manager.plugins()] == ["first"]
    manager.connect(CONN)
    assert (len(first.calls), len(second.calls)) == (1, 0)


def test_a_target_conflict_leaves_the_fabric_table_untouched() -> None:
    class Both(LabTarget):
        @hookimpl
        def srp_fabric_kinds(self) -> Sequence[FabricKind]:
            return [FabricKind("both", "Both")]

    manager = lab_manager(vault=LabTarget("vault"))
    with pytest.raises(PluginConflict, match=r"^target kind 'vault' is claimed by two plugins"):
        manager.register(Both("vault"), name="both")
    assert manager.fabric_kinds() == []


def test_a_name_is_loaded_once() -> None:
    manager = lab_manager(lab=LabFabric())
    with pytest.raises(PluginLoadError) as caught:
        manager.register(LabFabric("lab-two"), name="lab")
    assert str(caught.value) == (
        "plugin 'lab' was refused: another plugin named 'lab' is already loaded "
        "(registered in process)"
    )
    assert manager.connect(CONN) == IDENTITY


def test_an_object_is_loaded_once() -> None:
    plugin = LabFabric()
    manager = lab_manager(lab=plugin)
    with pytest.raises(PluginLoadError) as caught:
        manager.register(plugin, name="again")
    assert str(caught.value) == (
        "plugin 'again' was refused: the same object is already loaded as plugin 'lab'"
    )


def test_a_disabled_name_cannot_be_registered_in_process() -> None:
    manager = PluginManager(PluginSettings(disabled=frozenset({"lab"})))
    with pytest.raises(PluginLoadError, match=r"^plugin 'lab' is disabled by SRP_DISABLE_PLUGINS$"):
        manager.register(LabFabric(), name="lab")
    assert manager.plugins() == []


def test_an_entry_point_that_does_not_import_is_listed_failed() -> None:
    entry_point = importlib.metadata.EntryPoint("ghost", "srp_no_such_plugin_module", "srp")
    manager = PluginManager.from_entry_points([entry_point])
    assert manager.plugins() == [
        PluginInfo(
            "ghost",
            status=PluginStatus.FAILED,
            reason="ModuleNotFoundError: No module named 'srp_no_such_plugin_module'",
        )
    ]


def test_trace_shows_arguments_but_never_secrets_or_keys(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="srp.plugins")
    manager = PluginManager(PluginSettings(trace=True))
    manager.register(LabTarget(), name="vault")
    manager.apply_hrl(TARGET, DISK, 4, b"k" * 32)
    assert caplog.records[-2].getMessage() == (
        "call srp_apply_hrl on vault with target=TargetConnection(target_id='tgt-1', "
        "kind='vault', location='eu-west', options=(), state_dir=''), disk=DiskRef("
        "item_id='item-1', disk_id='disk-0', capacity=4096), sequence=4, key=<32 bytes>"
    )
    assert "s3cret-key" not in caplog.text
    assert "kkkk" not in caplog.text


def test_trace_reports_a_raising_hook(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="srp.plugins")
    manager = PluginManager(PluginSettings(trace=True))
    manager.register(StreamingFabric(RuntimeError("x")), name="stream")
    manager.register(Declares([]), name="empty")

    class Flaky(MiniFabric):
        @hookimpl
        def srp_connect(self, connection: FabricConnection) -> object:
            raise RuntimeError("boom")

    manager.register(Flaky(None, kind="flaky"), name="flaky")
    caplog.clear()
    with pytest.raises(PluginHookError):
        manager.connect(FabricConnection("fab-3", "flaky", "f.example"))
    first, second = (r.getMessage() for r in caplog.records)
    assert first == (
        "call srp_connect on flaky with connection=FabricConnection(fabric_id='fab-3', "
        "kind='flaky', address='f.example', username='', options=())"
    )
    assert re.fullmatch(r"srp_connect on flaky raised RuntimeError after \d+\.\d{3} ms", second)


def test_settings_come_from_the_environment() -> None:
    environ = {"SRP_DISABLE_PLUGINS": " VMware, thirdparty_demo ,,", "SRP_TRACE_PLUGINS": "Yes"}
    settings = PluginSettings.from_environ(environ)
    assert settings == PluginSettings(frozenset({"vmware", "thirdparty-demo"}), trace=True)
    assert settings.blocks(PluginSource("vmware"))
    assert settings.blocks(PluginSource("demo", "Thirdparty.Demo", "1.0"))
    assert not settings.blocks(PluginSource("demo", "thirdparty-demo-extra", "1.0"))
    assert PluginSettings.from_environ({}) == PluginSettings(frozenset(), trace=False)
    assert not PluginSettings.from_environ({"SRP_TRACE_PLUGINS": "0"}).trace
