"""The new VM of a failback to an alternate location: created with the original's guest OS."""

from __future__ import annotations

import pytest

from fakes.vcenter import VCenter
from plugins.vmware import plugin
from provider.contracts.failover import AlternateMachine
from provider.errors import ValidationError
from tests.plugins.vmware.conftest import MIB, Connect


@pytest.mark.parametrize(
    ("os_type", "guest_os"),
    [("windows", "WINDOWS_9_SERVER_64"), ("linux", "OTHER_4X_LINUX_64")],
)
def test_the_new_vm_declares_the_guest_os_of_the_original(
    connect: Connect, vcenter: VCenter, os_type: str, guest_os: str
) -> None:
    network = vcenter.datacenters[0].network("VM Network").moid
    spec = AlternateMachine("web01-b", "esx02.lab", (MIB,), (network,), 2, 512, os_type)
    machine = plugin.srp_create_machine(connect(), spec)
    created = vcenter.vm_named("web01-b")
    assert (created.guest_os, created.power_state, created.host.name) == (
        guest_os,
        "POWERED_OFF",
        "esx02.lab",
    )
    assert (machine.machine_id, machine.os_type) == (created.moid, os_type)


def test_a_guest_family_srp_does_not_know_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        AlternateMachine("web01-b", "esx02.lab", (MIB,), os_type="solaris")
    assert str(caught.value) == (
        "AlternateMachine: os_type must be one of linux, windows; got 'solaris'"
    )
