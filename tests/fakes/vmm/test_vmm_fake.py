"""The simulated VMM server: its model rules and the VMM cmdlets as VMM answers them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from fakes.hyperv.host import RawResult
from fakes.vmm import CloudCapacity, VmmLab, VmmServer
from fakes.vmm.samples import build_cloud_lab
from provider.errors import AlreadyExists, NotFound

PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
EPILOGUE = (
    "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
    "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
)


@pytest.fixture
def lab() -> VmmLab:
    return build_cloud_lab(seed=4)


@pytest.fixture
def server(lab: VmmLab) -> VmmServer:
    return lab.server("vmm01")


def run(server: VmmServer, body: str) -> Any:
    """Run ``$result = <body>`` with the contract's prologue and epilogue; the decoded JSON."""
    raw = server.run_script(f"{PROLOGUE}$result = {body}\n{EPILOGUE}")
    assert raw.exit_code == 0, raw.stderr.decode("cp437")
    return json.loads(base64.b64decode(raw.stdout))


def error_lines(raw: RawResult) -> list[str]:
    """The CLIXML error lines, unescaped."""
    text = raw.stderr.decode("cp437")
    pieces = text.split('<S S="Error">')[1:]
    return [piece.split("</S>")[0].replace("_x000D__x000A_", "") for piece in pieces]


def test_get_scvmmserver_answers_for_its_own_name_and_port(server: VmmServer) -> None:
    rows = run(
        server,
        "Get-SCVMMServer -ComputerName 'VMM01.srp.test' -TCPPort 8100 | "
        "Select-Object Name, FQDN, Port, ProductVersion",
    )
    assert rows == [
        {"Name": "vmm01", "FQDN": "vmm01.srp.test", "Port": 8100, "ProductVersion": "10.22.1287.0"}
    ]


def test_get_scvmmserver_for_an_unknown_name_is_error_1601(server: VmmServer) -> None:
    raw = server.run_script(f"{PROLOGUE}$result = Get-SCVMMServer -ComputerName 'vmm9'\n")
    assert raw.exit_code == 1
    assert raw.stdout == b""
    lines = error_lines(raw)
    assert lines[:4] == [
        "Get-SCVMMServer : Unable to connect to the VMM management server vmm9 because the "
        "specified computer name could not be ",
        "resolved. (Error ID: 1601)",
        "",
        "Make sure that the computer name is correct, and then try the operation again.",
    ]
    assert lines[-3:-1] == [
        "    + CategoryInfo          : ResourceUnavailable: (vmm9:String) [Get-SCVMMServer], "
        "CarmineException",
        "    + FullyQualifiedErrorId : 1601,Microsoft.SystemCenter.VirtualMachineManager."
        "Cmdlets.GetSCVMMServerCmdlet",
    ]


def test_get_scvmmserver_on_another_port_is_error_1610(server: VmmServer) -> None:
    raw = server.run_script("Get-SCVMMServer -ComputerName 'vmm01' -TCPPort 8101")
    assert raw.exit_code == 1
    assert error_lines(raw)[0] == (
        "Get-SCVMMServer : Unable to connect to the VMM management server vmm01 on port 8101. "
        "(Error ID: 1610)"
    )


def test_a_stopped_vmm_service_fails_every_vmm_cmdlet_with_1605(server: VmmServer) -> None:
    server.faults.service_stopped = True
    for command in ("Get-SCVMMServer -ComputerName 'vmm01'", "Get-SCCloud"):
        raw = server.run_script(command)
        assert raw.exit_code == 1
        name = command.split()[0]
        assert "".join(error_lines(raw)[:2]) == (
            f"{name} : You cannot contact the VMM management server vmm01. The Virtual Machine "
            "Manager service on that server is not running. (Error ID: 1605)"
        )
    server.faults.service_stopped = False
    assert [row["Name"] for row in run(server, "Get-SCCloud | Select-Object Name")] == [
        "Gold",
        "Silver",
        "Empty",
    ]


def test_a_failing_cmdlet_stops_the_script_with_error_2606(server: VmmServer) -> None:
    server.faults.failing_cmdlets["Get-SCVirtualNetworkAdapter"] = "database timeout"
    raw = server.run_script(
        f"{PROLOGUE}$a = @(Get-SCCloud)\n"
        "$b = @(Get-SCVirtualMachine | Get-SCVirtualNetworkAdapter)\n$result = @{ A = $a }\n"
        + EPILOGUE
    )
    assert raw.exit_code == 1
    assert raw.stdout == b""
    assert error_lines(raw)[0] == (
        "Get-SCVirtualNetworkAdapter : An internal error has occurred on the VMM management "
        "server vmm01: database timeout "
    )
    assert server.commands_run()[-2:] == ["Get-SCVirtualMachine", "Get-SCVirtualNetworkAdapter"]


def test_hyperv_and_agent_cmdlets_are_not_installed_on_the_vmm_server(server: VmmServer) -> None:
    for name in ("Get-VM", "New-SrpCut"):
        raw = server.run_script(f"{name} -VMName 'web01'")
        assert raw.exit_code == 1
        assert error_lines(raw)[0].startswith(f"{name} : The term '{name}' is not recognized")


def test_hosts_keep_their_hyperv_cmdlets_and_do_not_know_vmm_ones(lab: VmmLab) -> None:
    host = lab.hyperv.host("hv01")
    assert host.run_script("Get-VM -Name 'web01'").exit_code == 0
    raw = host.run_script("Get-SCCloud")
    assert raw.exit_code == 1
    assert error_lines(raw)[0].startswith("Get-SCCloud : The term 'Get-SCCloud' is not recognized")


def test_clouds_show_their_host_groups_and_logical_networks(server: VmmServer) -> None:
    rows = run(
        server,
        "Get-SCCloud -Name 'gold','Empty' | Select-Object Name, "
        "@{n='Groups';e={$_.HostGroup.Path}}, @{n='Networks';e={$_.LogicalNetworks.Name}}",
    )
    assert rows == [
        {"Name": "Gold", "Groups": "All Hosts\\Primary", "Networks": ["Corp", "Dmz"]},
        {"Name": "Empty", "Groups": "All Hosts\\Spare", "Networks": "Corp"},
    ]
    assert run(server, "Get-SCCloud -Name 'Bronze'") == []


def test_cloud_capacity_and_usage_follow_the_vms_in_the_cloud(server: VmmServer) -> None:
    capacity = run(
        server,
        "Get-SCCloud -Name 'Silver' | Get-SCCloudCapacity | "
        "Select-Object VMCount, UseVMCountMaximum, MemoryMB, UseMemoryMBMaximum, "
        "CPUCount, UseCPUCountMaximum",
    )
    assert capacity == [
        {
            "VMCount": 2,
            "UseVMCountMaximum": False,
            "MemoryMB": 8192,
            "UseMemoryMBMaximum": False,
            "CPUCount": 0,
            "UseCPUCountMaximum": True,
        }
    ]
    usage_script = (
        "Get-SCCloud -Name 'Silver' | Get-SCCloudUsage | "
        "Select-Object VMUsageCount, MemoryUsageMB, CPUUsageCount, StorageUsageGB"
    )
    assert run(server, usage_script) == [
        {"VMUsageCount": 2, "MemoryUsageMB": 4096, "CPUUsageCount": 4, "StorageUsageGB": 2}
    ]
    server.lab.hyperv.host("hv02").remove_vm("batch02")
    assert run(server, usage_script)[0]["VMUsageCount"] == 1


def test_get_scvirtualmachine_filters_by_cloud_and_host(server: VmmServer) -> None:
    by_cloud = run(
        server,
        "Get-SCVirtualMachine -Cloud (Get-SCCloud -Name 'Gold') | "
        "Select-Object Name, HostName, @{n='Status';e={[string]$_.Status}}, "
        "@{n='Cloud';e={$_.Cloud.Name}}",
    )
    assert by_cloud == [
        {"Name": "web01", "HostName": "hv01.srp.test", "Status": "Running", "Cloud": "Gold"},
        {"Name": "sql01", "HostName": "hv01.srp.test", "Status": "Running", "Cloud": "Gold"},
        {"Name": "app01", "HostName": "hv02.srp.test", "Status": "Running", "Cloud": "Gold"},
    ]
    by_host = run(server, "Get-SCVirtualMachine -VMHost 'hv02' | Select-Object Name, Status")
    assert by_host == [
        {"Name": "app01", "Status": 0},
        {"Name": "batch01", "Status": 0},
        {"Name": "batch02", "Status": 0},
        {"Name": "loose01", "Status": 0},
    ]
    vm = server.lab.hyperv.host("hv02").vm("loose01")
    assert run(server, "Get-SCVirtualMachine -Name 'loose01' | Select-Object VMId, Cloud") == [
        {"VMId": vm.vm_id.upper(), "Cloud": None}
    ]


def test_adapters_carry_the_vm_network_and_vmm_mac_format(server: VmmServer) -> None:
    vm = server.lab.hyperv.host("hv01").vm("web01")
    rows = run(
        server,
        "Get-SCVirtualMachine -Name 'web01' | Get-SCVirtualNetworkAdapter | Select-Object "
        "SlotId, MACAddress, @{n='Network';e={$_.VMNetwork.Name}}, LogicalNetwork",
    )
    macs = [adapter.mac_address for adapter in vm.adapters]
    assert rows == [
        {
            "SlotId": 0,
            "MACAddress": ":".join(macs[0][i : i + 2] for i in range(0, 12, 2)),
            "Network": "Corp-VMs",
            "LogicalNetwork": "Corp",
        },
        {
            "SlotId": 1,
            "MACAddress": ":".join(macs[1][i : i + 2] for i in range(0, 12, 2)),
            "Network": "Dmz-VMs",
            "LogicalNetwork": "Dmz",
        },
    ]
    server.remove_vm_network("Dmz-VMs")
    after = run(
        server,
        "Get-SCVirtualNetworkAdapter -VM (Get-SCVirtualMachine -Name 'web01') | "
        "Select-Object @{n='Network';e={$_.VMNetwork.Name}}",
    )
    assert after == [{"Network": "Corp-VMs"}, {"Network": None}]


def test_adapter_listing_needs_a_vm_or_all(server: VmmServer) -> None:
    raw = server.run_script("Get-SCVirtualNetworkAdapter")
    assert raw.exit_code == 1
    assert error_lines(raw)[0] == (
        "Get-SCVirtualNetworkAdapter : Cannot process command because of one or more missing "
        "mandatory parameters: VM."
    )
    assert len(run(server, "@(Get-SCVirtualNetworkAdapter -All)")) == 7


def test_networks_hosts_and_host_groups(server: VmmServer) -> None:
    assert run(
        server,
        "Get-SCVMNetwork -LogicalNetwork (Get-SCLogicalNetwork -Name 'Corp') | "
        "Select-Object Name, @{n='Isolation';e={[string]$_.IsolationType}}",
    ) == [
        {"Name": "Corp-VMs", "Isolation": "NoIsolation"},
        {"Name": "Backup", "Isolation": "NoIsolation"},
    ]
    server.managed("hv02").responding = False
    assert run(
        server,
        "Get-SCVMHost | Select-Object Name, ComputerName, @{n='Group';e={$_.VMHostGroup.Path}}, "
        "@{n='State';e={[string]$_.CommunicationState}}",
    ) == [
        {
            "Name": "hv01.srp.test",
            "ComputerName": "hv01",
            "Group": "All Hosts\\Primary",
            "State": "Responding",
        },
        {
            "Name": "hv02.srp.test",
            "ComputerName": "hv02",
            "Group": "All Hosts\\Primary",
            "State": "NotResponding",
        },
    ]
    assert run(server, "Get-SCVMHostGroup | Select-Object Name, Path, IsRoot") == [
        {"Name": "All Hosts", "Path": "All Hosts", "IsRoot": True},
        {"Name": "Primary", "Path": "All Hosts\\Primary", "IsRoot": False},
        {"Name": "Spare", "Path": "All Hosts\\Spare", "IsRoot": False},
    ]


def test_vmm_placement_rules_are_enforced(server: VmmServer) -> None:
    host = server.lab.hyperv.host("hv01")
    vm = host.create_vm("extra", switch="LAN")
    with pytest.raises(ValueError, match="host 'hv01' is not in a host group of cloud 'Empty'"):
        server.place_vm(vm, cloud="Empty")
    with pytest.raises(ValueError, match="'Dmz-VMs' is on logical network 'Dmz', which cloud"):
        server.place_vm(vm, cloud="Silver", networks=["Dmz-VMs"])
    with pytest.raises(NotFound, match="has no cloud named 'Bronze'"):
        server.place_vm(vm, cloud="Bronze")
    with pytest.raises(AlreadyExists):
        server.lab.add_server("hv01")


def test_unplaced_vms_appear_in_no_cloud_and_capacity_defaults_to_unlimited() -> None:
    lab = VmmLab()
    server = lab.add_server("vmm02", port=8200)
    server.add_host(lab.hyperv.add_host("hv09"))
    lab.hyperv.host("hv09").create_vm("new01")
    server.add_cloud("Open", host_groups=["All Hosts"], capacity=CloudCapacity())
    assert run(server, "Get-SCVirtualMachine | Select-Object Name, Cloud") == [
        {"Name": "new01", "Cloud": None}
    ]
    assert run(server, "Get-SCVMMServer 'localhost' -TCPPort 8200 | Select-Object Port") == [
        {"Port": 8200}
    ]
