"""Plugins found through the ``srp`` entry point group, as a third party ships them.

Each test lays out fake distributions (a ``*.dist-info`` directory and a
plugin module, never pip-installed) in a temporary directory put on
``sys.path``. Assertions are on these fake plugins only: the built-in entry
points of the srp distribution may or may not import while the tree grows.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

from provider.contracts.connection import FabricConnection, FabricIdentity, Secret
from provider.contracts.declarations import FabricKind
from provider.errors import AuthenticationFailed, NoPluginForKind, PluginConflict, PluginHookError
from provider.plugin_loading import PluginSettings
from provider.plugin_status import PluginInfo, PluginStatus
from provider.pluginmanager import PluginManager, load_default

# pluggy warns when a call leaves out a spec argument: here that is a facade bug.
pytestmark = pytest.mark.filterwarnings("error")

PLUGIN_SOURCES = Path(__file__).parent / "data" / "entrypoint_plugins"
DEMO_HOOKS = ("srp_connect", "srp_discover", "srp_fabric_kinds")


@dataclass
class FakeSite:
    """A directory on sys.path holding fake distributions."""

    root: Path
    modules: list[str] = field(default_factory=list)

    def install(self, dist: str, version: str, entry: str, module: str) -> None:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[srp]\n{entry} = {module}\n")
        shutil.copy(PLUGIN_SOURCES / f"{module}.py", self.root / f"{module}.py")
        self.modules.append(module)
        # The metadata finder caches directory listings by mtime: forget them.
        importlib.invalidate_caches()

    def entry_points(self) -> list[importlib.metadata.EntryPoint]:
        """This site's entry points only, sorted by name like the default loader."""
        found = importlib.metadata.entry_points(group="srp")
        return sorted(
            (ep for ep in found if ep.dist is not None and ep.dist.name.startswith("thirdparty-")),
            key=lambda ep: ep.name,
        )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("SRP_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SRP_TRACE_PLUGINS", raising=False)
    fake = FakeSite(root)
    yield fake
    for module in fake.modules:
        sys.modules.pop(module, None)


def demo_connection(kind: str = "demo", address: str = "demo.example") -> FabricConnection:
    return FabricConnection("fab-1", kind, address, "admin", Secret("hunter2"))


def plugin_module(name: str) -> ModuleType:
    return sys.modules[name]


def test_fake_distribution_is_found_and_listed_loaded(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    assert manager.plugins() == [
        PluginInfo(
            name="demo",
            distribution="thirdparty-demo",
            version="1.2.3",
            kinds=("demo",),
            target_kinds=(),
            hooks=DEMO_HOOKS,
            status=PluginStatus.LOADED,
            reason="",
        )
    ]
    assert manager.fabric_kinds() == [FabricKind("demo", "Demo fabric", default_port=5985)]
    assert manager.target_kinds() == []


def test_connect_and_discover_dispatch_to_the_fake_plugin(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    assert manager.connect(demo_connection()) == FabricIdentity(
        name="demo.example", kind="demo", version="1.2.3", server_id="d-1"
    )
    inventory = manager.discover(demo_connection())
    assert [m.name for m in inventory.machines] == ["web01"]
    assert [c.container_id for c in inventory.containers] == ["site-1"]
    assert plugin_module("thirdparty_demo_plugin").CALLS == [
        "connect demo.example",
        "discover demo.example",
    ]


def test_dispatch_reaches_only_the_plugin_serving_the_kind(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-other", "3.0", "other", "thirdparty_other_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    demo, other = plugin_module("thirdparty_demo_plugin"), plugin_module("thirdparty_other_plugin")

    manager.connect(demo_connection("demo", "a.example"))
    manager.discover(demo_connection("demo", "a.example"))
    assert demo.CALLS == ["connect a.example", "discover a.example"]
    assert other.CALLS == []

    assert manager.connect(demo_connection("other", "b.example")) == FabricIdentity(
        "b.example", "other"
    )
    assert other.CALLS == ["connect b.example"]
    assert demo.CALLS == ["connect a.example", "discover a.example"]


def test_two_distributions_claiming_one_kind_conflict(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-rival", "0.4.0", "rival", "thirdparty_rival_plugin")
    with pytest.raises(PluginConflict) as caught:
        PluginManager.from_entry_points(site.entry_points())
    assert str(caught.value) == (
        "fabric kind 'demo' is claimed by two plugins: 'demo' (thirdparty-demo 1.2.3) and "
        "'rival' (thirdparty-rival 0.4.0) "
        "(uninstall one of them or block one with SRP_DISABLE_PLUGINS=rival)"
    )


def test_blocking_one_side_of_a_conflict_resolves_it(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-rival", "0.4.0", "rival", "thirdparty_rival_plugin")
    settings = PluginSettings.from_environ({"SRP_DISABLE_PLUGINS": "thirdparty_rival"})
    manager = PluginManager.from_entry_points(site.entry_points(), settings)
    assert [(p.name, p.status, p.reason) for p in manager.plugins()] == [
        ("demo", PluginStatus.LOADED, ""),
        ("rival", PluginStatus.BLOCKED, "disabled by SRP_DISABLE_PLUGINS"),
    ]
    assert "thirdparty_rival_plugin" not in sys.modules
    assert manager.fabric_kind("demo").title == "Demo fabric"


def test_broken_plugins_are_listed_failed_and_the_others_load(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-broken", "0.1", "broken", "thirdparty_broken_plugin")
    site.install("thirdparty-misspelt", "0.2", "misspelt", "thirdparty_misspelt_plugin")
    site.install("thirdparty-unknown", "0.3", "unknown", "thirdparty_unknown_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    assert [(p.name, p.status, p.reason) for p in manager.plugins()] == [
        ("broken", PluginStatus.FAILED, "ImportError: No module named 'vendor_sdk'"),
        ("demo", PluginStatus.LOADED, ""),
        (
            "misspelt",
            PluginStatus.FAILED,
            "PluginValidationError: Plugin 'misspelt' for hook 'srp_connect'; "
            "hookimpl definition: srp_connect(conection); Argument(s) {'conection'} are "
            "declared in the hookimpl but can not be found in the hookspec",
        ),
        (
            "unknown",
            PluginStatus.FAILED,
            "PluginValidationError: unknown hook 'srp_discovr': "
            "srp has no hook specification of that name",
        ),
    ]
    failed = [p for p in manager.plugins() if p.status is PluginStatus.FAILED]
    assert {(p.distribution, p.version, p.kinds, p.hooks) for p in failed} == {
        ("thirdparty-broken", "0.1", (), ()),
        ("thirdparty-misspelt", "0.2", (), ()),
        ("thirdparty-unknown", "0.3", (), ()),
    }
    assert [k.kind for k in manager.fabric_kinds()] == ["demo"]
    assert manager.connect(demo_connection()).kind == "demo"


def test_a_failed_plugin_kind_is_not_served(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-unknown", "0.3", "unknown", "thirdparty_unknown_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    with pytest.raises(NoPluginForKind) as caught:
        manager.discover(demo_connection("unknown"))
    assert str(caught.value) == (
        "no plugin serves fabric kind 'unknown'; served fabric kinds: demo "
        "(install the plugin for 'unknown', or check SRP_DISABLE_PLUGINS)"
    )


def test_disable_by_entry_point_name_never_imports_the_plugin(site: FakeSite) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-broken", "0.1", "broken", "thirdparty_broken_plugin")
    settings = PluginSettings.from_environ({"SRP_DISABLE_PLUGINS": " broken , demo"})
    manager = PluginManager.from_entry_points(site.entry_points(), settings)
    assert manager.plugins() == [
        PluginInfo(
            "broken",
            "thirdparty-broken",
            "0.1",
            status=PluginStatus.BLOCKED,
            reason="disabled by SRP_DISABLE_PLUGINS",
        ),
        PluginInfo(
            "demo",
            "thirdparty-demo",
            "1.2.3",
            status=PluginStatus.BLOCKED,
            reason="disabled by SRP_DISABLE_PLUGINS",
        ),
    ]
    assert "thirdparty_broken_plugin" not in sys.modules
    assert "thirdparty_demo_plugin" not in sys.modules
    assert manager.fabric_kinds() == []


def test_load_default_reads_entry_points_and_environment(
    site: FakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    site.install("thirdparty-broken", "0.1", "broken", "thirdparty_broken_plugin")
    # Blocking the srp distribution by name keeps the built-ins out of this test.
    monkeypatch.setenv("SRP_DISABLE_PLUGINS", "srp,thirdparty-broken")
    manager = load_default()
    by_name = {p.name: p for p in manager.plugins()}
    assert by_name["demo"].status is PluginStatus.LOADED
    assert by_name["broken"].status is PluginStatus.BLOCKED
    built_ins = [p for p in manager.plugins() if p.distribution == "srp"]
    assert built_ins, "the srp distribution's built-in entry points were not found"
    assert {p.status for p in built_ins} == {PluginStatus.BLOCKED}
    assert [p.name for p in manager.plugins()] == sorted(by_name)


def test_trace_logs_each_hook_call_without_secrets(
    site: FakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    caplog.set_level(logging.INFO, logger="srp.plugins")
    settings = PluginSettings.from_environ({"SRP_TRACE_PLUGINS": "1"})
    manager = PluginManager.from_entry_points(site.entry_points(), settings)
    manager.connect(demo_connection())
    lines = [r.getMessage() for r in caplog.records if r.name == "srp.plugins"]
    assert lines[0] == "call srp_fabric_kinds on demo with no arguments"
    assert re.fullmatch(r"srp_fabric_kinds on demo returned after \d+\.\d{3} ms", lines[1])
    assert lines[2] == (
        "call srp_connect on demo with connection=FabricConnection(fabric_id='fab-1', "
        "kind='demo', address='demo.example', username='admin', options=())"
    )
    assert re.fullmatch(r"srp_connect on demo returned after \d+\.\d{3} ms", lines[3])
    assert len(lines) == 4
    assert "hunter2" not in caplog.text


def test_no_trace_lines_unless_asked(site: FakeSite, caplog: pytest.LogCaptureFixture) -> None:
    site.install("thirdparty-demo", "1.2.3", "demo", "thirdparty_demo_plugin")
    caplog.set_level(logging.DEBUG, logger="srp.plugins")
    manager = PluginManager.from_entry_points(site.entry_points(), PluginSettings())
    manager.connect(demo_connection())
    assert [r for r in caplog.records if r.name == "srp.plugins"] == []


def test_runtime_error_in_a_hook_becomes_plugin_hook_error(site: FakeSite) -> None:
    site.install("thirdparty-flaky", "2.0.0", "flaky", "thirdparty_flaky_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    with pytest.raises(PluginHookError) as caught:
        manager.connect(demo_connection("flaky"))
    assert str(caught.value) == (
        "plugin 'flaky' (thirdparty-flaky 2.0.0) failed in srp_connect: "
        "RuntimeError: socket closed by peer "
        "(this is a bug in the plugin; report it to its maintainers)"
    )
    assert type(caught.value.__cause__) is RuntimeError
    assert str(caught.value.__cause__) == "socket closed by peer"


def test_srp_error_in_a_hook_passes_through_unchanged(site: FakeSite) -> None:
    site.install("thirdparty-flaky", "2.0.0", "flaky", "thirdparty_flaky_plugin")
    manager = PluginManager.from_entry_points(site.entry_points())
    with pytest.raises(AuthenticationFailed) as caught:
        manager.discover(demo_connection("flaky", "flaky.example"))
    assert type(caught.value) is AuthenticationFailed
    assert str(caught.value) == "flaky.example refused user 'admin'"
