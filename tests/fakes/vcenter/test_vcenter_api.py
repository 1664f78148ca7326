"""The simulated vCenter over loopback HTTP: sessions, errors, snapshots, CBT, datastore reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakes.vcenter import LoopbackServer, VCenter, VirtualMachine, serve_vcenter
from fakes.workload import write_pattern

MIB = 1 << 20
CBT = 64 * 1024
SDK = "/sdk/vim25/8.0.2.0"


@pytest.fixture
def vcenter() -> VCenter:
    vc = VCenter(seed=3)
    dc = vc.add_datacenter("DC1")
    dc.add_network("VM Network")
    vc.create_vm("web01", dc.add_host("esx01"), disks=(MIB,), networks=("VM Network",))
    return vc


@pytest.fixture
def vm(vcenter: VCenter) -> VirtualMachine:
    return vcenter.vm_named("web01")


class Api:
    """A logged-in requests session against the served vCenter."""

    def __init__(self, server: LoopbackServer, vcenter: VCenter) -> None:
        self.url = server.url
        self.http = requests.Session()
        answer = self.http.post(self.url + "/api/session", auth=vcenter.credentials)
        assert answer.status_code == 201
        self.http.headers["vmware-api-session-id"] = answer.json()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url + path, **kwargs)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(self.url + path, json=body)

    def task(self, path: str, body: Any) -> dict[str, Any]:
        task = self.post(path, body).json()
        info = self.get(f"{SDK}/Task/{task['value']}/info").json()
        assert isinstance(info, dict)
        return info


@pytest.fixture
def api(vcenter: VCenter) -> Iterator[Api]:
    server, _ = serve_vcenter(vcenter)
    with server:
        yield Api(server, vcenter)


def snapshot(api: Api, vm: VirtualMachine, name: str, quiesce: bool = False) -> dict[str, Any]:
    info = api.task(
        f"{SDK}/VirtualMachine/{vm.moid}/CreateSnapshot_Task", {"name": name, "quiesce": quiesce}
    )
    assert info["state"] == "success"
    result = info["result"]
    assert isinstance(result, dict)
    return result


def query(
    api: Api, vm: VirtualMachine, snap: dict[str, Any], change_id: str, start: int = 0
) -> requests.Response:
    body = {"snapshot": snap, "deviceKey": 2000, "startOffset": start, "changeId": change_id}
    return api.post(f"{SDK}/VirtualMachine/{vm.moid}/QueryChangedDiskAreas", body)


def change_id(api: Api, snap: dict[str, Any]) -> str:
    config = api.get(f"{SDK}/VirtualMachineSnapshot/{snap['value']}/config").json()
    return str(config["hardware"]["device"][0]["backing"]["changeId"])


def test_login_with_bad_password_is_unauthenticated(vcenter: VCenter) -> None:
    server, _ = serve_vcenter(vcenter)
    with server:
        answer = requests.post(
            server.url + "/api/session", auth=("administrator@vsphere.local", "x")
        )
    assert answer.status_code == 401
    assert answer.json() == {
        "error_type": "UNAUTHENTICATED",
        "messages": [
            {
                "args": [],
                "default_message": "Authentication required.",
                "id": "com.vmware.vapi.endpoint.method.authentication.required",
            }
        ],
    }


def test_logout_ends_the_session(api: Api) -> None:
    assert api.http.delete(api.url + "/api/session").status_code == 204
    answer = api.get("/api/vcenter/vm")
    assert answer.status_code == 401
    assert answer.json()["error_type"] == "UNAUTHENTICATED"


def test_expired_sessions_answer_401_on_both_apis(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.sessions.expire_all()
    assert api.get("/api/vcenter/vm").status_code == 401
    answer = api.get(f"{SDK}/VirtualMachine/{vm.moid}/snapshot")
    assert answer.status_code == 401
    assert answer.json()["_typeName"] == "NotAuthenticated"


def test_vm_list_and_detail(api: Api, vm: VirtualMachine) -> None:
    assert api.get("/api/vcenter/vm").json() == [
        {
            "vm": vm.moid,
            "name": "web01",
            "power_state": "POWERED_ON",
            "cpu_count": 2,
            "memory_size_MiB": 4096,
        }
    ]
    detail = api.get(f"/api/vcenter/vm/{vm.moid}").json()
    assert detail["disks"] == {
        "2000": {
            "label": "Hard disk 1",
            "type": "SCSI",
            "capacity": MIB,
            "scsi": {"bus": 0, "unit": 0},
            "backing": {"type": "VMDK_FILE", "vmdk_file": "[datastore1] web01/web01.vmdk"},
        }
    }
    assert detail["nics"]["4000"]["backing"]["network_name"] == "VM Network"


def test_unknown_vm_is_not_found_in_both_api_shapes(api: Api) -> None:
    answer = api.get("/api/vcenter/vm/vm-999")
    assert (answer.status_code, answer.json()["error_type"]) == (404, "NOT_FOUND")
    fault = api.get(f"{SDK}/VirtualMachine/vm-999/config")
    assert fault.status_code == 500
    assert fault.json()["_typeName"] == "ManagedObjectNotFound"
    assert fault.json()["obj"] == {
        "_typeName": "ManagedObjectReference",
        "type": "VirtualMachine",
        "value": "vm-999",
    }


def test_cbt_star_lists_allocated_areas_and_a_change_id_lists_changes(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.set_cbt(vm, True)
    write_pattern(vm.disks[0].disk, 2 * CBT, 10, seed=1)
    first = snapshot(api, vm, "s1")
    assert query(api, vm, first, "*").json() == {
        "_typeName": "DiskChangeInfo",
        "startOffset": 0,
        "length": MIB,
        "changedArea": [{"_typeName": "DiskChangeExtent", "start": 2 * CBT, "length": CBT}],
    }
    base = change_id(api, first)
    write_pattern(vm.disks[0].disk, 9 * CBT, 10, seed=2)
    second = snapshot(api, vm, "s2")
    areas = query(api, vm, second, base).json()["changedArea"]
    assert [(a["start"], a["length"]) for a in areas] == [(9 * CBT, CBT)]


def test_cbt_window_bounds_one_answer(api: Api, vcenter: VCenter, vm: VirtualMachine) -> None:
    vcenter.faults.cbt_query_window = 4 * CBT
    vcenter.set_cbt(vm, True)
    for block in (1, 5):
        write_pattern(vm.disks[0].disk, block * CBT, 10, seed=block)
    snap = snapshot(api, vm, "s1")
    first = query(api, vm, snap, "*").json()
    assert (first["startOffset"], first["length"], first["changedArea"][0]["start"]) == (
        0,
        4 * CBT,
        CBT,
    )
    second = query(api, vm, snap, "*", start=4 * CBT).json()
    assert [(a["start"], a["length"]) for a in second["changedArea"]] == [(5 * CBT, CBT)]


def test_changes_of_a_removed_snapshot_are_reported_again_from_the_older_change_id(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.set_cbt(vm, True)
    base = change_id(api, snapshot(api, vm, "s1"))
    write_pattern(vm.disks[0].disk, 3 * CBT, 10, seed=1)
    dropped = snapshot(api, vm, "s2")
    assert (
        api.task(f"{SDK}/VirtualMachineSnapshot/{dropped['value']}/RemoveSnapshot_Task", {})[
            "state"
        ]
        == "success"
    )
    write_pattern(vm.disks[0].disk, 6 * CBT, 10, seed=2)
    areas = query(api, vm, snapshot(api, vm, "s3"), base).json()["changedArea"]
    assert [(a["start"], a["length"]) for a in areas] == [(3 * CBT, CBT), (6 * CBT, CBT)]


def test_a_cbt_reset_invalidates_older_change_ids(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.set_cbt(vm, True)
    base = change_id(api, snapshot(api, vm, "s1"))
    vcenter.reset_cbt(vm)
    answer = query(api, vm, snapshot(api, vm, "s2"), base)
    assert answer.status_code == 500
    assert answer.json()["_typeName"] == "InvalidArgument"
    assert answer.json()["invalidProperty"] == "changeId"
    assert answer.json()["message"] == (
        f"A specified parameter was not correct: changeId. '{base}' is not valid for this disk"
    )


def test_quiesce_failure_fails_the_task_and_takes_no_snapshot(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.faults.quiesce_failure = "VSS writer timed out"
    info = api.task(
        f"{SDK}/VirtualMachine/{vm.moid}/CreateSnapshot_Task", {"name": "q", "quiesce": True}
    )
    assert info["state"] == "error"
    assert info["error"]["fault"]["_typeName"] == "ApplicationQuiesceFault"
    assert info["error"]["localizedMessage"] == (
        "An error occurred while quiescing the virtual machine: VSS writer timed out"
    )
    assert api.get(f"{SDK}/VirtualMachine/{vm.moid}/snapshot").json() is None


def test_tasks_read_running_before_they_are_done(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    vcenter.faults.task_polls = 2
    task = api.post(f"{SDK}/VirtualMachine/{vm.moid}/CreateSnapshot_Task", {"name": "s"}).json()
    states = [api.get(f"{SDK}/Task/{task['value']}/info").json()["state"] for _ in range(3)]
    assert states == ["running", "running", "success"]


def test_datastore_range_reads_serve_the_snapshot_as_it_was(
    api: Api, vcenter: VCenter, vm: VirtualMachine
) -> None:
    written = write_pattern(vm.disks[0].disk, 100, 50, seed=7)
    snap = snapshot(api, vm, "s1")
    vm.disks[0].disk.write(100, b"later")
    config = api.get(f"{SDK}/VirtualMachineSnapshot/{snap['value']}/config").json()
    assert config["hardware"]["device"][0]["backing"]["fileName"] == "[datastore1] web01/web01.vmdk"
    params = {"dcPath": "DC1", "dsName": "datastore1"}
    frozen = api.get(
        "/folder/web01/web01-flat.vmdk", params=params, headers={"Range": "bytes=100-149"}
    )
    assert (frozen.status_code, frozen.headers["Content-Range"], frozen.content) == (
        206,
        f"bytes 100-149/{MIB}",
        written,
    )
    live = api.get(
        "/folder/web01/web01-000001-flat.vmdk", params=params, headers={"Range": "bytes=100-104"}
    )
    assert live.content == b"later"
    bad = api.get(
        "/folder/web01/web01-flat.vmdk", params=params, headers={"Range": f"bytes={MIB}-"}
    )
    assert bad.status_code == 416
    assert api.get("/folder/web01/nope-flat.vmdk", params=params).status_code == 404


def test_power_actions_and_their_errors(api: Api, vm: VirtualMachine) -> None:
    path = f"/api/vcenter/vm/{vm.moid}/power"
    assert api.http.post(api.url + path, params={"action": "stop"}).status_code == 204
    again = api.http.post(api.url + path, params={"action": "stop"})
    assert (again.status_code, again.json()["error_type"]) == (400, "ALREADY_IN_DESIRED_STATE")
    assert api.get(path).json() == {"state": "POWERED_OFF"}
    identity = api.get(f"/api/vcenter/vm/{vm.moid}/guest/identity")
    assert (identity.status_code, identity.json()["error_type"]) == (503, "SERVICE_UNAVAILABLE")
