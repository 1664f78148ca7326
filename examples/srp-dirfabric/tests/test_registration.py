"""srp finds the installed plugin through the ``srp`` entry point group and lists it."""

from provider.plugin_status import PluginStatus
from provider.pluginmanager import load_default


def test_srp_lists_the_installed_plugin() -> None:
    manager = load_default({})
    (info,) = [plugin for plugin in manager.plugins() if plugin.name == "dirfabric"]
    assert (info.distribution, info.status, info.kinds) == (
        "srp-dirfabric",
        PluginStatus.LOADED,
        ("dirfabric",),
    )
    assert manager.fabric_kind("dirfabric").title == (
        "Directory of raw disk images (example KVM host)"
    )
