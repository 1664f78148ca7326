"""The fake vCenter's PropertyCollector paging, the master target's errors, VM creation errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakes.vcenter import (
    LoopbackServer,
    MasterTarget,
    VCenter,
    serve_master_target,
    serve_vcenter,
)

MIB = 1 << 20
SDK = "/sdk/vim25/8.0.2.0"
PC = f"{SDK}/PropertyCollector/propertyCollector"
NAMES = ("web01", "app01", "db01")


@pytest.fixture
def vcenter() -> VCenter:
    """DC1: cluster Prod with esx01, esx02 outside it, a port group and a DVS port group."""
    vc = VCenter(seed=5)
    dc = vc.add_datacenter("DC1")
    dc.add_network("VM Network")
    dc.add_network("DMZ", "DISTRIBUTED_PORTGROUP")
    esx01 = dc.add_host("esx01", dc.add_cluster("Prod"))
    dc.add_host("esx02")
    for name in NAMES:
        vc.create_vm(name, esx01, disks=(MIB,), networks=("VM Network",), power_on=False)
    return vc


class Session:
    """A requests session logged in to the served vCenter (the REST id serves the JSON API)."""

    def __init__(self, server: LoopbackServer, vcenter: VCenter) -> None:
        self.url = server.url
        self.http = requests.Session()
        answer = self.http.post(self.url + "/api/session", auth=vcenter.credentials)
        self.http.headers["vmware-api-session-id"] = answer.json()

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.http.post(self.url + path, json=body)


@pytest.fixture
def api(vcenter: VCenter) -> Iterator[Session]:
    server, _ = serve_vcenter(vcenter)
    with server:
        yield Session(server, vcenter)


def _moref(type_name: str, value: str) -> dict[str, str]:
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": value}


def _view(api: Session) -> dict[str, Any]:
    body = {"container": _moref("Folder", "group-d1"), "type": ["VirtualMachine"]}
    answer = api.post(
        f"{SDK}/ViewManager/ViewManager/CreateContainerView", body | {"recursive": True}
    )
    assert answer.status_code == 200
    view = answer.json()
    assert isinstance(view, dict)
    return view


def _spec(view: dict[str, Any], page: int) -> dict[str, Any]:
    prop_set = [{"type": "VirtualMachine", "pathSet": ["name"]}]
    object_set = [{"obj": view, "skip": True}]
    return {
        "specSet": [{"propSet": prop_set, "objectSet": object_set}],
        "options": {"maxObjects": page},
    }


def _names(result: dict[str, Any]) -> list[str]:
    return [obj["propSet"][0]["val"] for obj in result["objects"]]


def _gone(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "_typeName": "ManagedObjectNotFound",
        "faultCause": None,
        "faultMessage": [],
        "message": f"The object 'ContainerView:{view['value']}' has already been deleted or "
        "has not been completely created",
        "obj": _moref("ContainerView", view["value"]),
    }


# -- PropertyCollector ---------------------------------------------------------------


def test_retrieval_pages_with_a_token_good_for_one_continuation(
    api: Session, vcenter: VCenter
) -> None:
    view = _view(api)
    first = api.post(f"{PC}/RetrievePropertiesEx", _spec(view, 2)).json()
    assert (_names(first), first["_typeName"]) == (["web01", "app01"], "RetrieveResult")
    web01 = vcenter.vm_named("web01").moid
    assert first["objects"][0]["obj"] == _moref("VirtualMachine", web01)
    rest = api.post(f"{PC}/ContinueRetrievePropertiesEx", {"token": first["token"]})
    assert rest.status_code == 200
    assert (_names(rest.json()), "token" in rest.json()) == (["db01"], False)
    again = api.post(f"{PC}/ContinueRetrievePropertiesEx", {"token": first["token"]})
    assert (again.status_code, again.json()) == (
        500,
        {
            "_typeName": "InvalidArgument",
            "faultCause": None,
            "faultMessage": [],
            "message": "A specified parameter was not correct: token",
            "invalidProperty": "token",
        },
    )


def test_a_vm_deleted_between_pages_is_left_out_of_the_next(api: Session, vcenter: VCenter) -> None:
    first = api.post(f"{PC}/RetrievePropertiesEx", _spec(_view(api), 1)).json()
    vcenter.delete_vm(vcenter.vm_named("app01"))
    second = api.post(f"{PC}/ContinueRetrievePropertiesEx", {"token": first["token"]}).json()
    third = api.post(f"{PC}/ContinueRetrievePropertiesEx", {"token": second["token"]}).json()
    assert (_names(first), _names(second), _names(third)) == (["web01"], [], ["db01"])


def test_a_destroyed_view_answers_managed_object_not_found(api: Session) -> None:
    view = _view(api)
    destroyed = api.post(f"{SDK}/ContainerView/{view['value']}/DestroyView", {})
    assert (destroyed.status_code, destroyed.content) == (204, b"")
    twice = api.post(f"{SDK}/ContainerView/{view['value']}/DestroyView", {})
    assert (twice.status_code, twice.json()) == (500, _gone(view))
    through = api.post(f"{PC}/RetrievePropertiesEx", _spec(view, 2))
    assert (through.status_code, through.json()) == (500, _gone(view))


def test_a_page_size_that_is_not_positive_is_invalid(api: Session) -> None:
    answer = api.post(f"{PC}/RetrievePropertiesEx", _spec(_view(api), 0)).json()
    assert (_names(answer), "token" in answer) == (list(NAMES), False)  # 0: no limit, one page
    negative = api.post(f"{PC}/RetrievePropertiesEx", _spec(_view(api), -1))
    assert (negative.status_code, negative.json()["invalidProperty"]) == (
        500,
        "options.maxObjects",
    )


# -- the master target ---------------------------------------------------------------

MT = "/mastertarget/v1"


@pytest.fixture
def master_target(vcenter: VCenter) -> Iterator[tuple[str, MasterTarget]]:
    server, mt_api = serve_master_target(vcenter)
    with server:
        yield server.url, mt_api.target


def _put(
    url: str, vcenter: VCenter, path: str, data: bytes, auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.put(url + MT + path, data=data, auth=auth or vcenter.credentials, timeout=10)


def _error(answer: requests.Response) -> tuple[int, dict[str, Any]]:
    return answer.status_code, answer.json()


def test_the_master_target_writes_into_a_powered_off_vm(
    master_target: tuple[str, MasterTarget], vcenter: VCenter
) -> None:
    url, target = master_target
    vm = vcenter.vm_named("web01")
    answer = _put(url, vcenter, f"/vms/{vm.moid}/disks/2000?offset=4096", b"\x5a" * 512)
    assert (answer.status_code, answer.content) == (204, b"")
    assert vm.disks[0].disk.read(4000, 700) == bytes(96) + b"\x5a" * 512 + bytes(92)
    assert target.writes == [(vm.moid, 2000, 4096, 512)]
    status = requests.get(url + MT + "/status", auth=vcenter.credentials, timeout=10).json()
    assert status == {
        "hostname": "mt01.lab",
        "vcenter": vcenter.instance_uuid,
        "version": "9.60.1.0",
    }


def test_the_master_target_refuses_a_running_vm(
    master_target: tuple[str, MasterTarget], vcenter: VCenter
) -> None:
    url, target = master_target
    vm = vcenter.vm_named("app01")
    vm.power_state = "POWERED_ON"
    before = vm.disks[0].disk.read(0, MIB)
    answer = _put(url, vcenter, f"/vms/{vm.moid}/disks/2000?offset=0", b"x")
    assert _error(answer) == (
        409,
        {
            "error": "vm_running",
            "message": "VM app01 is POWERED_ON: its disks cannot be hot-added to the master "
            "target while it runs.",
        },
    )
    assert (vm.disks[0].disk.read(0, MIB), target.writes) == (before, [])


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (
            "/vms/vm-999/disks/2000?offset=0",
            404,
            {"error": "vm_not_found", "message": "No VM vm-999 in the vCenter."},
        ),
        (
            "/vms/{vm}/disks/2001?offset=0",
            404,
            {"error": "disk_not_found", "message": "VM {vm} has no disk 2001."},
        ),
        (
            "/vms/{vm}/disks/2000?offset=1048575",
            416,
            {"error": "out_of_range", "message": "2 bytes at 1048575 do not fit disk 2000."},
        ),
        (
            "/vms/{vm}/disks/2000?offset=-1",
            400,
            {"error": "bad_request", "message": "offset and disk key must be integers."},
        ),
        (
            "/vms/{vm}/disks/scsi0?offset=0",
            400,
            {"error": "bad_request", "message": "offset and disk key must be integers."},
        ),
        (
            "/vms/{vm}/disks/2000",
            400,
            {"error": "bad_request", "message": "offset and disk key must be integers."},
        ),
    ],
)
def test_the_master_target_refuses_what_does_not_fit(
    master_target: tuple[str, MasterTarget],
    vcenter: VCenter,
    path: str,
    status: int,
    body: dict[str, str],
) -> None:
    url, target = master_target
    vm = vcenter.vm_named("web01").moid
    answer = _put(url, vcenter, path.format(vm=vm), b"ab")
    expected = {key: value.format(vm=vm) for key, value in body.items()}
    assert _error(answer) == (status, expected)
    assert target.writes == []


def test_the_master_target_checks_callers_and_answers_503_while_restarting(
    master_target: tuple[str, MasterTarget], vcenter: VCenter
) -> None:
    url, target = master_target
    vm = vcenter.vm_named("web01").moid
    user = vcenter.credentials[0]
    refused = _put(url, vcenter, f"/vms/{vm}/disks/2000?offset=0", b"x", (user, "wrong"))
    assert _error(refused) == (
        401,
        {"error": "unauthenticated", "message": "The vCenter credentials were refused."},
    )
    target.faults.unavailable_calls = 1
    down = _put(url, vcenter, f"/vms/{vm}/disks/2000?offset=0", b"x")
    assert _error(down) == (
        503,
        {"error": "unavailable", "message": "The master target is restarting."},
    )
    assert _put(url, vcenter, f"/vms/{vm}/disks/2000?offset=0", b"x").status_code == 204
    assert target.writes == [(vm, 2000, 0, 1)]


# -- POST /api/vcenter/vm --------------------------------------------------------------


def _create_spec(vcenter: VCenter, **changes: Any) -> dict[str, Any]:
    dc = vcenter.datacenters[0]
    placement = {
        "folder": f"group-v{dc.moid}",
        "host": dc.hosts[0].moid,
        "cluster": dc.clusters[0].moid,
        "datastore": dc.datastores[0].moid,
    }
    network = dc.network("VM Network").moid
    spec: dict[str, Any] = {
        "name": "web01-b",
        "guest_OS": "OTHER_4X_LINUX_64",
        "placement": placement | changes.pop("placement", {}),
        "cpu": {"count": 2},
        "memory": {"size_MiB": 512},
        "disks": [{"type": "SCSI", "new_vmdk": {"capacity": MIB}}],
        "nics": [
            {"type": "VMXNET3", "backing": {"type": "STANDARD_PORTGROUP", "network": network}}
        ],
    }
    return {key: value for key, value in (spec | changes).items() if value is not None}


def _rest_error(answer: requests.Response) -> tuple[int, str, str]:
    body = answer.json()
    return answer.status_code, body["error_type"], body["messages"][0]["default_message"]


def test_a_vm_is_created_powered_off_with_the_guest_os_of_the_spec(
    api: Session, vcenter: VCenter
) -> None:
    answer = api.post("/api/vcenter/vm", _create_spec(vcenter))
    assert answer.status_code == 201
    vm = vcenter.vm_named("web01-b")
    assert answer.json() == vm.moid
    assert (vm.guest_os, vm.power_state, vm.cpu_count, vm.memory_mib) == (
        "OTHER_4X_LINUX_64",
        "POWERED_OFF",
        2,
        512,
    )
    assert [d.disk.read(0, MIB) for d in vm.disks] == [bytes(MIB)]
    detail = api.http.get(f"{api.url}/api/vcenter/vm/{vm.moid}").json()
    assert detail["guest_OS"] == "OTHER_4X_LINUX_64"


_SPEC = "com.vmware.vcenter.VM.create_spec"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"name": None},
            (400, "INVALID_ARGUMENT", f"Structure '{_SPEC}' is missing a required field 'name'."),
        ),
        (
            {"guest_OS": "BEOS"},
            (
                400,
                "INVALID_ARGUMENT",
                "Invalid value 'BEOS' for enumeration type 'com.vmware.vcenter.vm.GuestOS'.",
            ),
        ),
        (
            {"placement": {"folder": "group-v404"}},
            (404, "NOT_FOUND", "The folder with identifier 'group-v404' does not exist."),
        ),
        (
            {"placement": {"resource_pool": "resgroup-9"}},
            (404, "NOT_FOUND", "The resource pool with identifier 'resgroup-9' does not exist."),
        ),
        (
            {"placement": {"host": None, "cluster": None}},
            (
                400,
                "INVALID_ARGUMENT",
                "placement: at least one of host, cluster or resource_pool is required",
            ),
        ),
        (
            {"placement": {"datastore": "datastore-404"}},
            (404, "NOT_FOUND", "The datastore with identifier 'datastore-404' does not exist."),
        ),
        (
            {"disks": [{"type": "SCSI", "new_vmdk": {"capacity": 0}}]},
            (
                400,
                "INVALID_ARGUMENT",
                "disks: every disk needs new_vmdk.capacity, a positive number of bytes",
            ),
        ),
        (
            {"cpu": {"count": 0}},
            (400, "INVALID_ARGUMENT", "cpu.count must be a positive integer"),
        ),
        (
            {"nics": [{"type": "VMXNET3", "backing": {"type": "STANDARD_PORTGROUP"}}]},
            (400, "INVALID_ARGUMENT", "nics: every NIC needs backing.network"),
        ),
        (
            {"name": "app01"},
            (400, "ALREADY_EXISTS", "The name 'app01' already exists."),
        ),
    ],
)
def test_a_create_spec_vcenter_refuses_creates_nothing(
    api: Session, vcenter: VCenter, changes: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    before = sorted(vm.name for vm in vcenter.live_vms())
    answer = api.post("/api/vcenter/vm", _create_spec(vcenter, **changes))
    assert _rest_error(answer) == expected
    assert sorted(vm.name for vm in vcenter.live_vms()) == before


def test_placement_ids_are_checked_against_the_datacenter(api: Session, vcenter: VCenter) -> None:
    dc = vcenter.datacenters[0]
    outside = dc.hosts[1].moid  # esx02 is in no cluster
    wrong_type = dc.network("DMZ").moid
    nic = {"type": "VMXNET3", "backing": {"type": "STANDARD_PORTGROUP", "network": wrong_type}}
    answers = [
        api.post("/api/vcenter/vm", _create_spec(vcenter, placement={"host": outside})),
        api.post("/api/vcenter/vm", _create_spec(vcenter, placement={"host": "host-404"})),
        api.post("/api/vcenter/vm", _create_spec(vcenter, nics=[nic])),
        api.post("/api/vcenter/vm", _create_spec(vcenter, placement={"cluster": "domain-c404"})),
    ]
    cluster = dc.clusters[0].moid
    assert [_rest_error(answer) for answer in answers] == [
        (400, "INVALID_ARGUMENT", f"placement: host '{outside}' is not in cluster '{cluster}'"),
        (404, "NOT_FOUND", "The host with identifier 'host-404' does not exist."),
        (
            400,
            "INVALID_ARGUMENT",
            f"nics: network '{wrong_type}' is a DISTRIBUTED_PORTGROUP, not a STANDARD_PORTGROUP",
        ),
        (404, "NOT_FOUND", "The cluster with identifier 'domain-c404' does not exist."),
    ]
    assert "web01-b" not in {vm.name for vm in vcenter.live_vms()}
