"""The vmm plugin's ``vmm-replica`` target kind and the fake VMM's host switches."""

from __future__ import annotations

from fakes.vmm import install_inprocess_transport
from fakes.vmm.samples import build_replica_lab
from plugins.hyperv.records import one_row
from plugins.hyperv.transport import unregister_transport
from plugins.vmm import plugin, scripts
from plugins.vmm.client import vmm_client_for
from plugins.vmm.kinds import VMM_REPLICA
from provider.contracts.connection import FabricConnection
from provider.contracts.declarations import DataPath, FailoverMode


def test_vmm_replica_is_a_native_target_with_every_failover_mode() -> None:
    assert plugin.srp_target_kinds() == (VMM_REPLICA,)
    assert VMM_REPLICA.kind == "vmm-replica"
    assert VMM_REPLICA.data_path is DataPath.NATIVE
    assert VMM_REPLICA.failover_modes == (
        FailoverMode.TEST,
        FailoverMode.PLANNED,
        FailoverMode.UNPLANNED,
        FailoverMode.FAILBACK,
    )
    cloud = next(p for p in VMM_REPLICA.parameters if p.name == "cloud")
    assert cloud.required


def test_the_fake_vmm_says_which_logical_networks_each_host_switch_carries() -> None:
    lab = build_replica_lab(seed=1)
    install_inprocess_transport(lab)
    connection = FabricConnection(
        "vmm-replica-1", "vmm", "vmm02", options=(("transport", "fake-vmm-inprocess"),)
    )
    try:
        client = vmm_client_for(connection)
        answer = one_row(client.query(scripts.replica_networks("vmm02", 8100)), "vmm02")
    finally:
        unregister_transport("fake-vmm-inprocess")

    logical = {str(n.id): n.name for n in lab.server("vmm02").logical_networks}
    found = [
        (r.text("HostName"), r.text("Name"), [logical[i] for i in r.texts("LogicalNetworkIds")])
        for r in answer.rows("Switches")
    ]
    assert found == [
        ("hv11.srp.test", "DR-LAN", ["Corp-DR"]),
        ("hv11.srp.test", "Isolated", ["Test"]),
        ("hv12.srp.test", "DR-LAN", ["Corp-DR"]),
        ("hv12.srp.test", "Isolated", ["Test"]),
    ]
