"""The plugin manager: the one door between srp's core and its plugins.

A typed facade over ``pluggy.PluginManager("srp")``. It loads the plugins of
the ``srp`` entry point group, refuses the ones that do not match the hook
specifications (reporting why, never stopping srp), builds the kind -> plugin
dispatch tables from the declaration hooks, and offers one typed method per
hook. No other module touches ``pm.hook``.

Dispatched hooks reach only the plugin that declared the fabric or target
kind (through ``pm.subset_hook_caller``), so plugins never check "is this
mine?". Event hooks reach every plugin that implements them, one plugin at a
time, so a failure names the plugin that raised. An ``SrpError`` raised in a
hook passes through unchanged; anything else becomes ``PluginHookError``
chained to the original.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, TypeVar

import pluggy

from provider import hookspecs
from provider.contracts.connection import FabricConnection, FabricIdentity, TargetConnection
from provider.contracts.declarations import FabricKind, TargetKind
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
    ReverseSource,
)
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativePoint,
    NativeProtection,
)
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.contracts.transfer import (
    AppliedHrl,
    DiskRef,
    Holdings,
    PointQuery,
    RetentionResult,
    TargetInfo,
)
from provider.errors import (
    NoPluginForKind,
    PluginConflict,
    PluginHookError,
    PluginLoadError,
    SrpError,
)
from provider.model.inventory import Inventory, Machine, Network
from provider.model.policy import ReplicationPolicy
from provider.plugin_loading import (
    DISABLE_ENV,
    PluginSettings,
    PluginSource,
    discover_entry_points,
    import_plugin,
)
from provider.plugin_status import PluginInfo, PluginStatus

logger = logging.getLogger("srp.plugins")

T = TypeVar("T")
Declaration = TypeVar("Declaration", FabricKind, TargetKind)

#: Dispatched hooks a plugin may leave out: a plugin that keeps no session has
#: nothing to drop, a kind that needs no setup for failback has nothing to check.
#: Every other dispatched hook is an operation the core needs.
OPTIONAL_DISPATCHED_HOOKS = frozenset({"srp_disconnect", "srp_check_failback"})
#: Trace lines show arguments as repr, cut to this length (an inventory can be huge).
_REPR_LIMIT = 300


class _Side(enum.StrEnum):
    """Which dispatch table a hook goes through."""

    FABRIC = "fabric"
    TARGET = "target"


class PluginManager:
    """Loads plugins and calls their hooks, typed, one method per hook."""

    def __init__(self, settings: PluginSettings | None = None) -> None:
        self._settings = settings or PluginSettings()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: list[PluginInfo] = []
        self._loaded: dict[str, PluginInfo] = {}
        self._fabric_kinds: dict[str, FabricKind] = {}
        self._target_kinds: dict[str, TargetKind] = {}
        self._servers: dict[_Side, dict[str, str]] = {side: {} for side in _Side}
        self._callers: dict[tuple[str, str], pluggy.HookCaller] = {}
        if self._settings.trace:
            tracer = _HookTracer()
            self._pm.add_hookcall_monitoring(tracer.before, tracer.after)

    @classmethod
    def from_entry_points(
        cls, entry_points: Iterable[EntryPoint], settings: PluginSettings | None = None
    ) -> PluginManager:
        """A manager holding these entry points' plugins; raises ``PluginConflict``."""
        manager = cls(settings)
        for entry_point in entry_points:
            manager._load_entry_point(entry_point)
        return manager

    # ------------------------------------------------------------------
    # Loading and registration

    def register(
        self, plugin: object, name: str, *, distribution: str = "", version: str = ""
    ) -> PluginInfo:
        """Register a plugin object in process (tests, fakes, embedding).

        Unlike an entry point, a refused plugin raises ``PluginLoadError``
        here: the caller is code that can act on it at once.
        """
        source = PluginSource(name, distribution, version)
        if self._settings.blocks(source):
            raise PluginLoadError(f"plugin {name!r} is disabled by {DISABLE_ENV}")
        info = self._admit(plugin, source)
        if not info.loaded:
            raise PluginLoadError(f"plugin {name!r} was refused: {info.reason}")
        return info

    def plugins(self) -> list[PluginInfo]:
        """Every plugin found, in load order: loaded, blocked and failed."""
        return list(self._infos)

    def _load_entry_point(self, entry_point: EntryPoint) -> None:
        source = PluginSource.of(entry_point)
        if self._settings.blocks(source):
            # Blocking the name in pluggy too keeps a same-named object out later.
            self._pm.set_blocked(source.name)
            self._infos.append(_status(source, PluginStatus.BLOCKED, f"disabled by {DISABLE_ENV}"))
            return
        try:
            plugin = import_plugin(entry_point)
        except PluginLoadError as exc:
            self._infos.append(_status(source, PluginStatus.FAILED, exc.message))
            return
        self._admit(plugin, source)

    def _admit(self, plugin: object, source: PluginSource) -> PluginInfo:
        try:
            info = self._install(plugin, source)
        except PluginLoadError as exc:
            self._discard(plugin, source.name)
            info = _status(source, PluginStatus.FAILED, exc.message)
        except PluginConflict:
            self._discard(plugin, source.name)
            raise
        self._infos.append(info)
        return info

    def _install(self, plugin: object, source: PluginSource) -> PluginInfo:
        self._register(plugin, source.name)
        hooks = self._hooks_of(plugin)
        fabric = self._declared(source.name, hooks, "srp_fabric_kinds", FabricKind)
        targets = self._declared(source.name, hooks, "srp_target_kinds", TargetKind)
        self._claim(source, fabric, targets)
        info = PluginInfo(
            name=source.name,
            distribution=source.distribution,
            version=source.version,
            kinds=tuple(sorted(d.kind for d in fabric)),
            target_kinds=tuple(sorted(d.kind for d in targets)),
            hooks=hooks,
        )
        self._loaded[source.name] = info
        return info

    def _claim(
        self, source: PluginSource, fabric: Sequence[FabricKind], targets: Sequence[TargetKind]
    ) -> None:
        # Check both tables before touching either, so a conflict changes nothing.
        self._check_unclaimed(_Side.FABRIC, source, fabric)
        self._check_unclaimed(_Side.TARGET, source, targets)
        self._fabric_kinds.update((d.kind, d) for d in fabric)
        self._target_kinds.update((d.kind, d) for d in targets)
        self._servers[_Side.FABRIC].update((d.kind, source.name) for d in fabric)
        self._servers[_Side.TARGET].update((d.kind, source.name) for d in targets)

    def _register(self, plugin: object, name: str) -> None:
        if name in self._loaded:
            taken = self._loaded[name].origin
            raise PluginLoadError(f"another plugin named {name!r} is already loaded ({taken})")
        if self._pm.is_registered(plugin):
            raise PluginLoadError(
                f"the same object is already loaded as plugin {self._pm.get_name(plugin)!r}"
            )
        try:
            registered = self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(_one_line(exc)) from exc
        if registered is None:
            raise PluginLoadError(f"the name {name!r} is blocked by {DISABLE_ENV}")
        self._callers.clear()
        self._check_pending(plugin)

    def _check_pending(self, plugin: object) -> None:
        # Plugins admitted earlier passed this check, so a failure is the newcomer's.
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            unknown = sorted(c.name for c in self._pm.get_hookcallers(plugin) or [])
            unknown = [name for name in unknown if not getattr(self._pm.hook, name).has_spec()]
            raise PluginLoadError(
                f"PluginValidationError: unknown hook {', '.join(map(repr, unknown))}: "
                "srp has no hook specification of that name"
            ) from exc

    def _declared(
        self, name: str, hooks: tuple[str, ...], hook: str, expected: type[Declaration]
    ) -> tuple[Declaration, ...]:
        if hook not in hooks:
            return ()
        try:
            results = self._caller(name, hook)()
        except Exception as exc:
            raise PluginLoadError(f"{hook} raised {type(exc).__name__}: {exc}") from exc
        declared = [d for result in results for d in _declarations(hook, result, expected)]
        kinds = [d.kind for d in declared]
        repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if repeated:
            raise PluginLoadError(f"{hook} declares kind {repeated[0]!r} more than once")
        return tuple(declared)

    def _check_unclaimed(
        self, side: _Side, source: PluginSource, declared: Sequence[FabricKind | TargetKind]
    ) -> None:
        for declaration in declared:
            holder = self._servers[side].get(declaration.kind)
            if holder is None:
                continue
            other = self._loaded[holder].origin
            newcomer = _status(source, PluginStatus.LOADED, "").origin
            raise PluginConflict(
                f"{side} kind {declaration.kind!r} is claimed by two plugins: "
                f"{holder!r} ({other}) and {source.name!r} ({newcomer})",
                hint=f"uninstall one of them or block one with {DISABLE_ENV}={source.name}",
            )

    def _discard(self, plugin: object, name: str) -> None:
        # Only ever remove this very object: the name may belong to another plugin.
        if self._pm.get_plugin(name) is plugin:
            self._pm.unregister(name=name)
            self._callers.clear()

    def _hooks_of(self, plugin: object) -> tuple[str, ...]:
        callers = self._pm.get_hookcallers(plugin) or []
        return tuple(sorted(c.name for c in callers if c.has_spec()))

    # ------------------------------------------------------------------
    # Declarations

    def fabric_kinds(self) -> list[FabricKind]:
        """Every fabric kind a loaded plugin serves, sorted by kind."""
        return [self._fabric_kinds[k] for k in sorted(self._fabric_kinds)]

    def target_kinds(self) -> list[TargetKind]:
        """Every target kind a loaded plugin serves, sorted by kind."""
        return [self._target_kinds[k] for k in sorted(self._target_kinds)]

    def fabric_kind(self, kind: str) -> FabricKind:
        """The declaration of one fabric kind; ``NoPluginForKind`` when nobody serves it."""
        self._server(_Side.FABRIC, kind)
        return self._fabric_kinds[kind]

    def target_kind(self, kind: str) -> TargetKind:
        """The declaration of one target kind; ``NoPluginForKind`` when nobody serves it."""
        self._server(_Side.TARGET, kind)
        return self._target_kinds[kind]

    # ------------------------------------------------------------------
    # Discovery (dispatched by fabric kind)

    def connect(self, connection: FabricConnection) -> FabricIdentity:
        """Connect to a fabric and return what it says it is."""
        return self._fabric_value("srp_connect", FabricIdentity, connection)

    def discover(self, connection: FabricConnection) -> Inventory:
        """List the fabric's hosts, containers, machines and networks."""
        return self._fabric_value("srp_discover", Inventory, connection)

    def disconnect(self, connection: FabricConnection) -> None:
        """Drop any session the plugin holds for this fabric (optional hook)."""
        self._action(_Side.FABRIC, connection.kind, "srp_disconnect", connection=connection)

    # ------------------------------------------------------------------
    # Replica sync (dispatched by fabric kind)

    def enable_tracking(self, connection: FabricConnection, machine: Machine) -> TrackingInfo:
        """Enable change tracking on every disk of a machine."""
        return self._fabric_value("srp_enable_tracking", TrackingInfo, connection, machine=machine)

    def disable_tracking(self, connection: FabricConnection, machine: Machine) -> None:
        """Disable change tracking on a machine whose protection is removed."""
        self._action(
            _Side.FABRIC,
            connection.kind,
            "srp_disable_tracking",
            connection=connection,
            machine=machine,
        )

    def capture_cut(self, connection: FabricConnection, request: CutRequest) -> Cut:
        """Take one consistent cut across the requested machines' disks."""
        return self._fabric_value("srp_capture_cut", Cut, connection, request=request)

    def read_extents(
        self,
        connection: FabricConnection,
        cut: Cut,
        machine_id: str,
        disk_id: str,
        extents: Sequence[tuple[int, int]],
    ) -> Iterator[ExtentData]:
        """Stream extents of one disk as it was at the cut."""
        return self._stream(
            _Side.FABRIC,
            connection.kind,
            "srp_read_extents",
            ExtentData,
            connection=connection,
            cut=cut,
            machine_id=machine_id,
            disk_id=disk_id,
            extents=extents,
        )

    def block_digests(
        self, connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
    ) -> Iterator[BlockDigest]:
        """Stream the SHA-256 of every block of one source disk at the cut."""
        return self._stream(
            _Side.FABRIC,
            connection.kind,
            "srp_block_digests",
            BlockDigest,
            connection=connection,
            cut=cut,
            machine_id=machine_id,
            disk_id=disk_id,
            block_size=block_size,
        )

    def release_cut(self, connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
        """Release a cut; ``confirmed`` says whether its changes are now the base."""
        self._action(
            _Side.FABRIC,
            connection.kind,
            "srp_release_cut",
            connection=connection,
            cut=cut,
            confirmed=confirmed,
        )

    # ------------------------------------------------------------------
    # Failover, source side (dispatched by fabric kind)

    def prepare_failover(self, connection: FabricConnection, machine: Machine) -> PreparedSource:
        """Shut the source machine down before a planned failover."""
        return self._fabric_value(
            "srp_prepare_failover", PreparedSource, connection, machine=machine
        )

    def resume_source(self, connection: FabricConnection, machine: Machine) -> None:
        """Start the source machine again after a cancelled planned failover."""
        self._action(
            _Side.FABRIC,
            connection.kind,
            "srp_resume_source",
            connection=connection,
            machine=machine,
        )

    def write_extents(
        self,
        connection: FabricConnection,
        machine: Machine,
        disk_id: str,
        extents: Sequence[ExtentData],
    ) -> None:
        """Write extents to one disk of a source machine (reverse replication, failback)."""
        self._action(
            _Side.FABRIC,
            connection.kind,
            "srp_write_extents",
            connection=connection,
            machine=machine,
            disk_id=disk_id,
            extents=extents,
        )

    def check_failback(self, connection: FabricConnection, machine: Machine) -> None:
        """Refuse a failback onto the fabric that its setup cannot carry (changes nothing)."""
        self._action(
            _Side.FABRIC,
            connection.kind,
            "srp_check_failback",
            connection=connection,
            machine=machine,
        )

    def create_machine(self, connection: FabricConnection, spec: AlternateMachine) -> Machine:
        """Create a new machine with empty disks on a source fabric (alternate failback)."""
        return self._fabric_value("srp_create_machine", Machine, connection, spec=spec)

    # ------------------------------------------------------------------
    # HRL transfer (dispatched by target kind)

    def open_target(self, target: TargetConnection) -> TargetInfo:
        """Open a replication target and report its free space."""
        return self._target_value("srp_open_target", TargetInfo, target)

    def target_holdings(self, target: TargetConnection, disk: DiskRef) -> Holdings:
        """What the target holds for one disk: applied and stored sequences."""
        return self._target_value("srp_target_holdings", Holdings, target, disk=disk)

    def store_hrl(self, target: TargetConnection, disk: DiskRef, sequence: int, path: Path) -> None:
        """Store one HRL file on the target without applying it."""
        self._action(
            _Side.TARGET,
            target.kind,
            "srp_store_hrl",
            target=target,
            disk=disk,
            sequence=sequence,
            path=path,
        )

    def apply_hrl(
        self, target: TargetConnection, disk: DiskRef, sequence: int, key: bytes | None
    ) -> AppliedHrl:
        """Verify and apply one stored HRL to the disk's replica."""
        return self._target_value(
            "srp_apply_hrl", AppliedHrl, target, disk=disk, sequence=sequence, key=key
        )

    def replica_digests(
        self, target: TargetConnection, disk: DiskRef, block_size: int
    ) -> Iterator[BlockDigest]:
        """Stream the SHA-256 of every block of the replica image."""
        return self._stream(
            _Side.TARGET,
            target.kind,
            "srp_replica_digests",
            BlockDigest,
            target=target,
            disk=disk,
            block_size=block_size,
        )

    def point_digest(self, target: TargetConnection, query: PointQuery) -> str:
        """Hex SHA-256 of one disk as materialised at a retained point."""
        return self._target_value("srp_point_digest", str, target, query=query)

    def apply_retention(
        self, target: TargetConnection, disk: DiskRef, oldest_kept_sequence: int
    ) -> RetentionResult:
        """Forget what only points older than ``oldest_kept_sequence`` need."""
        return self._target_value(
            "srp_apply_retention",
            RetentionResult,
            target,
            disk=disk,
            oldest_kept_sequence=oldest_kept_sequence,
        )

    # ------------------------------------------------------------------
    # Failover, target side (dispatched by target kind)

    def target_networks(self, target: TargetConnection) -> Sequence[Network]:
        """The target's networks, isolated test networks included."""
        hook = "srp_target_networks"
        plugin = self._server(_Side.TARGET, target.kind, hook)
        found = self._call(plugin, hook, {"target": target})
        if not isinstance(found, list | tuple) or not all(isinstance(n, Network) for n in found):
            raise self._wrong_result(plugin, hook, found, "a sequence of Network")
        return tuple(found)

    def failover(self, target: TargetConnection, request: FailoverRequest) -> FailoverResult:
        """Create and start the replica machine at a recovery point."""
        return self._target_value("srp_failover", FailoverResult, target, request=request)

    def commit_failover(self, target: TargetConnection, item_id: str, replica_id: str) -> None:
        """Make a failover final."""
        self._action(
            _Side.TARGET,
            target.kind,
            "srp_commit_failover",
            target=target,
            item_id=item_id,
            replica_id=replica_id,
        )

    def cancel_failover(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> CleanupResult:
        """Undo a failover that was not committed."""
        return self._target_value(
            "srp_cancel_failover", CleanupResult, target, item_id=item_id, replica_id=replica_id
        )

    def cleanup_test_failover(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> CleanupResult:
        """Remove every artefact of a test failover."""
        return self._target_value(
            "srp_cleanup_test_failover",
            CleanupResult,
            target,
            item_id=item_id,
            replica_id=replica_id,
        )

    def reverse_replication(
        self, target: TargetConnection, item_id: str, replica_id: str
    ) -> ReverseSource:
        """Make the failed-over replica the new source."""
        return self._target_value(
            "srp_reverse_replication", ReverseSource, target, item_id=item_id, replica_id=replica_id
        )

    # ------------------------------------------------------------------
    # Native replication (dispatched by target kind)

    def native_protect(
        self, target: TargetConnection, request: NativeProtection
    ) -> NativeGroupState:
        """Start replicating a group toward a natively replicating target."""
        return self._target_value("srp_native_protect", NativeGroupState, target, request=request)

    def native_state(self, target: TargetConnection, group_id: str) -> NativeGroupState:
        """The replication state and health of every machine of a group."""
        return self._target_value("srp_native_state", NativeGroupState, target, group_id=group_id)

    def native_points(self, target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
        """The recovery points a native target holds for a group, oldest first."""
        hook = "srp_native_points"
        plugin = self._server(_Side.TARGET, target.kind, hook)
        found = self._call(plugin, hook, {"target": target, "group_id": group_id})
        if not isinstance(found, list | tuple) or not all(
            isinstance(p, NativePoint) for p in found
        ):
            raise self._wrong_result(plugin, hook, found, "a sequence of NativePoint")
        return tuple(found)

    def native_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        """Fail machines of a group over to a point on a native target."""
        return self._target_value(
            "srp_native_failover", NativeFailoverResult, target, request=request
        )

    def native_test_failover(
        self, target: TargetConnection, request: NativeFailover
    ) -> NativeFailoverResult:
        """Start test copies of machines of a group on a native target."""
        return self._target_value(
            "srp_native_test_failover", NativeFailoverResult, target, request=request
        )

    def native_cleanup_test(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> CleanupResult:
        """Remove the test copies of machines of a group on a native target."""
        return self._target_value(
            "srp_native_cleanup_test",
            CleanupResult,
            target,
            group_id=group_id,
            machine_ids=tuple(machine_ids),
        )

    def native_reverse(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        """Replicate failed-over machines of a group back toward their original site."""
        return self._target_value(
            "srp_native_reverse",
            NativeGroupState,
            target,
            group_id=group_id,
            machine_ids=tuple(machine_ids),
        )

    def native_resync(
        self, target: TargetConnection, group_id: str, machine_ids: Sequence[str]
    ) -> NativeGroupState:
        """Resynchronize machines of a group (all of it when none is named)."""
        return self._target_value(
            "srp_native_resync",
            NativeGroupState,
            target,
            group_id=group_id,
            machine_ids=machine_ids,
        )

    def native_stop(self, target: TargetConnection, group_id: str) -> None:
        """Stop replicating a group on a native target."""
        self._action(_Side.TARGET, target.kind, "srp_native_stop", target=target, group_id=group_id)

    # ------------------------------------------------------------------
    # Events (every plugin that implements them)

    def job_progress(self, event: JobProgress) -> None:
        """Tell every plugin a job's task moved."""
        self._broadcast("srp_job_progress", event=event)

    def job_state_changed(self, event: JobStateChange) -> None:
        """Tell every plugin a job changed state."""
        self._broadcast("srp_job_state_changed", event=event)

    def before_failover(self, event: FailoverEvent) -> None:
        """Tell every plugin one machine is about to fail over."""
        self._broadcast("srp_before_failover", event=event)

    def after_failover(self, event: FailoverEvent) -> None:
        """Tell every plugin one machine failed over, or failed to."""
        self._broadcast("srp_after_failover", event=event)

    def before_plan_group(self, event: PlanGroupEvent) -> None:
        """Tell every plugin a recovery-plan group is about to fail over."""
        self._broadcast("srp_before_plan_group", event=event)

    def after_plan_group(self, event: PlanGroupEvent) -> None:
        """Tell every plugin a recovery-plan group finished, or failed."""
        self._broadcast("srp_after_plan_group", event=event)

    def validate_policy(self, policy: ReplicationPolicy, fabric_kind: str) -> list[str]:
        """Every problem any plugin sees with the policy for this fabric kind."""
        hook = "srp_validate_policy"
        problems: list[str] = []
        for plugin, found in self._broadcast(hook, policy=policy, fabric_kind=fabric_kind):
            if not isinstance(found, list | tuple) or not all(isinstance(p, str) for p in found):
                raise self._wrong_result(plugin, hook, found, "a sequence of str")
            problems.extend(found)
        return problems

    def run_plan_action(self, context: PlanActionContext) -> ActionOutcome | None:
        """The first plugin outcome for a plan's hook action, or None when nobody knows it."""
        hook = "srp_run_plan_action"
        for plugin in self._implementers(hook):
            outcome = self._call(plugin, hook, {"context": context})
            if outcome is not None:
                return self._checked(plugin, hook, outcome, ActionOutcome)
        return None

    # ------------------------------------------------------------------
    # Dispatch machinery

    def _server(self, side: _Side, kind: str, hook: str = "") -> str:
        plugin = self._servers[side].get(kind)
        if plugin is None:
            served = ", ".join(sorted(self._servers[side])) or "none"
            raise NoPluginForKind(
                f"no plugin serves {side} kind {kind!r}; served {side} kinds: {served}",
                hint=f"install the plugin for {kind!r}, or check {DISABLE_ENV}",
            )
        implemented = self._loaded[plugin].hooks
        if hook and hook not in implemented and hook not in OPTIONAL_DISPATCHED_HOOKS:
            raise NoPluginForKind(
                f"plugin {plugin!r} serves {side} kind {kind!r} but does not implement {hook}",
                hint="this kind does not support the operation; upgrading the plugin may add it",
            )
        return plugin

    def _fabric_value(
        self, hook: str, expected: type[T], connection: FabricConnection, **kwargs: object
    ) -> T:
        return self._value(
            _Side.FABRIC, connection.kind, hook, expected, connection=connection, **kwargs
        )

    def _target_value(
        self, hook: str, expected: type[T], target: TargetConnection, **kwargs: object
    ) -> T:
        return self._value(_Side.TARGET, target.kind, hook, expected, target=target, **kwargs)

    def _value(self, side: _Side, kind: str, hook: str, expected: type[T], **kwargs: object) -> T:
        plugin = self._server(side, kind, hook)
        return self._checked(plugin, hook, self._call(plugin, hook, kwargs), expected)

    def _action(self, side: _Side, kind: str, hook: str, **kwargs: object) -> None:
        self._call(self._server(side, kind, hook), hook, kwargs)

    def _stream(
        self, side: _Side, kind: str, hook: str, item: type[T], **kwargs: object
    ) -> Iterator[T]:
        plugin = self._server(side, kind, hook)
        result = self._call(plugin, hook, kwargs)
        if not isinstance(result, Iterable) or isinstance(result, str | bytes):
            raise self._wrong_result(plugin, hook, result, f"an iterator of {item.__name__}")
        return self._guarded(plugin, hook, iter(result), item)

    def _guarded(self, plugin: str, hook: str, items: Iterator[Any], item: type[T]) -> Iterator[T]:
        # The plugin's code runs while the caller iterates: map its errors here too.
        try:
            for value in items:
                yield self._checked(plugin, hook, value, item)
        except SrpError:
            raise
        except Exception as exc:
            raise self._hook_error(plugin, hook, exc) from exc
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _broadcast(self, hook: str, **kwargs: object) -> list[tuple[str, object]]:
        results: list[tuple[str, object]] = []
        for plugin in self._implementers(hook):
            results.extend((plugin, value) for value in self._call(plugin, hook, kwargs))
        return results

    def _implementers(self, hook: str) -> list[str]:
        # pluggy calls implementations last-registered first (tryfirst/trylast aside).
        impls = getattr(self._pm.hook, hook).get_hookimpls()
        return list(dict.fromkeys(impl.plugin_name for impl in reversed(impls)))

    def _call(self, plugin: str, hook: str, kwargs: Mapping[str, object]) -> Any:
        try:
            return self._caller(plugin, hook)(**kwargs)
        except SrpError:
            raise
        except Exception as exc:
            raise self._hook_error(plugin, hook, exc) from exc

    def _caller(self, plugin: str, hook: str) -> pluggy.HookCaller:
        # A subset caller fixes its excluded set when made: the cache is
        # cleared whenever a plugin comes or goes.
        key = (plugin, hook)
        if key not in self._callers:
            others = [obj for name, obj in self._pm.list_name_plugin() if name != plugin and obj]
            self._callers[key] = self._pm.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def _checked(self, plugin: str, hook: str, value: object, expected: type[T]) -> T:
        if isinstance(value, expected):
            return value
        raise self._wrong_result(plugin, hook, value, expected.__name__)

    def _wrong_result(self, plugin: str, hook: str, value: object, wanted: str) -> PluginHookError:
        return PluginHookError(
            f"plugin {plugin!r} ({self._loaded[plugin].origin}) returned "
            f"{_short_repr(value)} from {hook}, expected {wanted}"
        )

    def _hook_error(self, plugin: str, hook: str, exc: Exception) -> PluginHookError:
        return PluginHookError(
            f"plugin {plugin!r} ({self._loaded[plugin].origin}) failed in {hook}: "
            f"{type(exc).__name__}: {exc}",
            hint="this is a bug in the plugin; report it to its maintainers",
        )


def load_default(environ: Mapping[str, str] | None = None) -> PluginManager:
    """The manager the CLI and the service use: installed plugins, environment switches."""
    settings = PluginSettings.from_environ(os.environ if environ is None else environ)
    return PluginManager.from_entry_points(discover_entry_points(), settings)


class _HookTracer:
    """Logs every hook call (``SRP_TRACE_PLUGINS``) with its arguments and duration.

    Arguments are shown by repr, so a ``Secret`` masks itself; raw bytes (an
    HRL data key) are never shown, only their length.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def before(
        self, hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]
    ) -> None:
        self._starts().append(time.perf_counter())
        logger.info("call %s on %s with %s", hook, _plugin_names(impls), _describe(kwargs))

    def after(
        self,
        outcome: pluggy.Result[Any],
        hook: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
    ) -> None:
        elapsed_ms = (time.perf_counter() - self._starts().pop()) * 1000
        error = outcome.exception
        verdict = "returned" if error is None else f"raised {type(error).__name__}"
        logger.info("%s on %s %s after %.3f ms", hook, _plugin_names(impls), verdict, elapsed_ms)

    def _starts(self) -> list[float]:
        # Hook calls nest (a hook may call the manager again) and run on many threads.
        starts: list[float] | None = getattr(self._local, "starts", None)
        if starts is None:
            starts = []
            self._local.starts = starts
        return starts


def _status(source: PluginSource, status: PluginStatus, reason: str) -> PluginInfo:
    return PluginInfo(
        name=source.name,
        distribution=source.distribution,
        version=source.version,
        status=status,
        reason=reason,
    )


def _declarations(hook: str, result: object, expected: type[Declaration]) -> list[Declaration]:
    """One implementation's declarations, refused unless a list or tuple of ``expected``."""
    if isinstance(result, list | tuple) and all(isinstance(d, expected) for d in result):
        return list(result)
    raise PluginLoadError(
        f"{hook} returned {_short_repr(result)}, expected a sequence of {expected.__name__}"
    )


def _plugin_names(impls: Sequence[pluggy.HookImpl]) -> str:
    return ", ".join(dict.fromkeys(impl.plugin_name for impl in impls)) or "no plugin"


def _describe(kwargs: Mapping[str, object]) -> str:
    described = ", ".join(f"{name}={_short_repr(value)}" for name, value in kwargs.items())
    return described or "no arguments"


def _short_repr(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


def _one_line(exc: Exception) -> str:
    lines = (line.strip() for line in str(exc).splitlines())
    return f"{type(exc).__name__}: " + "; ".join(line for line in lines if line)
