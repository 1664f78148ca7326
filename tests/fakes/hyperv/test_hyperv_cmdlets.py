"""Inventory, power and Replica-server cmdlets of the fake host: happy paths, real errors."""

from __future__ import annotations

from fakes.hyperv import HyperVHost, HyperVLab, VMState
from fakes.hyperv.enums import SwitchType
from tests.fakes.hyperv.hvfake_testkit import Runner


def _populate(host: HyperVHost) -> None:
    host.add_switch("Internal", SwitchType.Internal)
    web = host.create_vm("web", disks=[1 << 20, 2 << 20], switch="LAN", running=True)
    web.disks[0].write(0, b"x" * 8192)
    host.create_vm("db", disks=[1 << 20], adapters=["LAN", None], generation=1)


def test_get_vmhost(ps: Runner) -> None:
    rows = ps.ok(
        "Get-VMHost | Select-Object Name, ComputerName, LogicalProcessorCount, MemoryCapacity, "
        "FullyQualifiedDomainName, @{n='Version';e={[string]$_.Version}}"
    )
    assert rows == [
        {
            "Name": "hv01",
            "ComputerName": "hv01",
            "LogicalProcessorCount": 16,
            "MemoryCapacity": 64 << 30,
            "FullyQualifiedDomainName": "hv01.srp.test",
            "Version": "10.0.20348.0",
        }
    ]
    raw = ps.ok("Get-VMHost | Select-Object Version")
    assert raw == [
        {
            "Version": {
                "Major": 10,
                "Minor": 0,
                "Build": 20348,
                "Revision": 0,
                "MajorRevision": 0,
                "MinorRevision": 0,
            }
        }
    ]


def test_get_vm(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    web = hv01.vm("web")
    rows = ps.ok(
        "Get-VM -Name 'WEB' | Select-Object Name, @{n='Id';e={[string]$_.Id}}, "
        "@{n='State';e={[string]$_.State}}, Generation, ProcessorCount, MemoryStartup, "
        "@{n='ReplicationState';e={[string]$_.ReplicationState}}, "
        "@{n='ReplicationHealth';e={[string]$_.ReplicationHealth}}, "
        "@{n='ReplicationMode';e={[string]$_.ReplicationMode}}, ComputerName"
    )
    assert rows == [
        {
            "Name": "web",
            "Id": str(web.id),
            "State": "Running",
            "Generation": 2,
            "ProcessorCount": 2,
            "MemoryStartup": 2 << 30,
            "ReplicationState": "Disabled",
            "ReplicationHealth": "NotApplicable",
            "ReplicationMode": "None",
            "ComputerName": "hv01",
        }
    ]
    assert ps.ok("Get-VM | Select-Object Name") == [{"Name": "web"}, {"Name": "db"}]
    assert ps.ok("Get-VM -Name 'd*' | Select-Object Name") == [{"Name": "db"}]
    assert ps.ok("Get-VM -Name 'zz*' | Select-Object Name") == []
    assert ps.error("Get-VM -Name 'web','nope'") == (
        'Get-VM : Hyper-V was unable to find a virtual machine with name "nope".'
    )


def test_vm_ids_are_deterministic_under_the_seed() -> None:
    def ids() -> list[str]:
        lab = HyperVLab(seed=5)
        host = lab.add_host("hv01")
        return [host.create_vm(name).vm_id for name in ("a", "b")]

    assert ids() == ids()
    other = HyperVLab(seed=6).add_host("hv01").create_vm("a").vm_id
    assert other not in ids()


def test_hard_disk_drives(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    web = hv01.vm("web")
    rows = ps.ok(
        "Get-VMHardDiskDrive -VMName 'web' | Select-Object VMName, "
        "@{n='VMId';e={[string]$_.VMId}}, "
        "Path, @{n='ControllerType';e={[string]$_.ControllerType}}, ControllerNumber, "
        "ControllerLocation"
    )
    folder = "C:\\ProgramData\\Microsoft\\Windows\\Virtual Hard Disks"
    assert rows == [
        {
            "VMName": "web",
            "VMId": str(web.id),
            "Path": f"{folder}\\web_0.vhdx",
            "ControllerType": "SCSI",
            "ControllerNumber": 0,
            "ControllerLocation": 0,
        },
        {
            "VMName": "web",
            "VMId": str(web.id),
            "Path": f"{folder}\\web_1.vhdx",
            "ControllerType": "SCSI",
            "ControllerNumber": 0,
            "ControllerLocation": 1,
        },
    ]
    piped = ps.ok("Get-VM | Get-VMHardDiskDrive | Select-Object VMName, ControllerType")
    assert piped == [
        {"VMName": "web", "ControllerType": 1},
        {"VMName": "web", "ControllerType": 1},
        {"VMName": "db", "ControllerType": 0},
    ]
    assert ps.error("Get-VMHardDiskDrive") == (
        "Get-VMHardDiskDrive : Cannot process command because of one or more missing "
        "mandatory parameters: VMName."
    )


def test_get_vhd(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    path = hv01.vm("web").drives[0].vhd.path
    rows = ps.ok(
        f"Get-VHD -Path '{path}' | Select-Object Path, Size, FileSize, "
        "@{n='VhdFormat';e={[string]$_.VhdFormat}}, @{n='VhdType';e={[string]$_.VhdType}}"
    )
    assert rows == [
        {
            "Path": path,
            "Size": 1 << 20,
            "FileSize": 8192 + (4 << 20),
            "VhdFormat": "VHDX",
            "VhdType": "Dynamic",
        }
    ]
    piped = ps.ok("Get-VM | Get-VMHardDiskDrive | Get-VHD | Select-Object Size, VhdFormat")
    assert piped == [
        {"Size": 1 << 20, "VhdFormat": 3},
        {"Size": 2 << 20, "VhdFormat": 3},
        {"Size": 1 << 20, "VhdFormat": 3},
    ]
    assert ps.error("Get-VHD -Path 'C:\\nope.vhdx'") == (
        "Get-VHD : Getting the mounted storage instance for the path 'C:\\nope.vhdx' failed."
        "The system cannot find the file specified."
    )
    assert ps.error("Get-VMSwitch | Get-VHD") == (
        "Get-VHD : The input object cannot be bound to any parameters for the command either "
        "because the command does not take pipeline input or the input and its properties do "
        "not match any of the parameters that take pipeline input."
    )


def test_network_adapters(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    web = hv01.vm("web")
    adapter = web.adapters[0]
    rows = ps.ok(
        "Get-VMNetworkAdapter -VMName 'web' | Select-Object VMName, Name, MacAddress, "
        "SwitchName, IPAddresses, Id"
    )
    assert rows == [
        {
            "VMName": "web",
            "Name": "Network Adapter",
            "MacAddress": adapter.mac_address,
            "SwitchName": "LAN",
            "IPAddresses": list(adapter.ip_addresses),
            "Id": adapter.adapter_id,
        }
    ]
    assert adapter.mac_address.startswith("00155D") and len(adapter.mac_address) == 12
    assert adapter.adapter_id.startswith(f"Microsoft:{web.vm_id.upper()}\\")
    all_rows = ps.ok("Get-VMNetworkAdapter -All | Select-Object VMName, SwitchName, IPAddresses")
    assert all_rows == [
        {"VMName": "web", "SwitchName": "LAN", "IPAddresses": list(adapter.ip_addresses)},
        {"VMName": "db", "SwitchName": "LAN", "IPAddresses": []},
        {"VMName": "db", "SwitchName": None, "IPAddresses": []},
    ]
    assert ps.ok("Get-VM | Get-VMNetworkAdapter | Select-Object VMName") == [
        {"VMName": "web"},
        {"VMName": "db"},
        {"VMName": "db"},
    ]
    assert ps.error("Get-VMNetworkAdapter -All -VMName 'web'") == (
        "Get-VMNetworkAdapter : Parameter set cannot be resolved using the specified named "
        "parameters."
    )


def test_switches(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    lan = hv01.switches[0]
    rows = ps.ok(
        "Get-VMSwitch | Select-Object Name, @{n='Id';e={[string]$_.Id}}, "
        "@{n='SwitchType';e={[string]$_.SwitchType}}"
    )
    assert rows == [
        {"Name": "LAN", "Id": str(lan.id), "SwitchType": "External"},
        {"Name": "Internal", "Id": str(hv01.switches[1].id), "SwitchType": "Internal"},
    ]
    assert ps.error("Get-VMSwitch -Name 'WAN'") == (
        'Get-VMSwitch : Hyper-V was unable to find a virtual switch with name "WAN".'
    )


def test_power_cmdlets(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    web, db = hv01.vm("web"), hv01.vm("db")
    states = []
    for body in (
        "Stop-VM -Name 'web' -Force",
        "Start-VM -Name 'web','db'",
        "Stop-VM -Name 'db' -TurnOff -Force",
        "Stop-VM -Name 'web' -Save",
    ):
        assert ps.ok(body) == []
        states.append((web.state, db.state))
    assert states == [
        (VMState.Off, VMState.Off),
        (VMState.Running, VMState.Running),
        (VMState.Running, VMState.Off),
        (VMState.Saved, VMState.Off),
    ]
    assert ps.ok("Get-VM -Name 'web' | Start-VM -Passthru | Select-Object State") == [{"State": 2}]


def test_starting_a_running_vm_warns(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    result = ps.raw("Start-VM -Name 'web'")
    assert result.exit_code == 0
    assert result.stderr.decode("cp437").endswith(
        '<S S="warning">The virtual machine is already in the specified state.'
        "_x000D__x000A_</S></Objs>"
    )


def test_remove_vm(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    web = hv01.vm("web")
    assert ps.error("Remove-VM -Name 'web' -Force") == (
        "Remove-VM : 'web' failed to delete.The operation cannot be performed while the "
        f"virtual machine is running. (Virtual machine ID {web.vm_id.upper()})"
    )
    ps.ok("Stop-VM -Name 'web' -Force")
    ps.ok("Remove-VM -Name 'web' -Force")
    assert [vm.name for vm in hv01.vms] == ["db"]
    assert hv01.vhd(web.drives[0].vhd.path) is web.drives[0].vhd


def test_replication_server(ps: Runner) -> None:
    assert (
        ps.ok(
            "Set-VMReplicationServer -ReplicationEnabled $true -AllowedAuthenticationType "
            "'Kerberos' -ReplicationAllowedFromAnyServer $true "
            "-DefaultStorageLocation 'D:\\Replica'"
        )
        == []
    )
    rows = ps.ok(
        "Get-VMReplicationServer | Select-Object ReplicationEnabled, "
        "@{n='AllowedAuthenticationType';e={[string]$_.AllowedAuthenticationType}}, "
        "ReplicationAllowedFromAnyServer, DefaultStorageLocation, KerberosAuthenticationPort"
    )
    assert rows == [
        {
            "ReplicationEnabled": True,
            "AllowedAuthenticationType": "Kerberos",
            "ReplicationAllowedFromAnyServer": True,
            "DefaultStorageLocation": "D:\\Replica",
            "KerberosAuthenticationPort": 80,
        }
    ]
    assert ps.error("Set-VMReplicationServer -AllowedAuthenticationType 'Ntlm'") == (
        "Set-VMReplicationServer : Cannot validate argument on parameter "
        "'AllowedAuthenticationType'. The argument \"Ntlm\" does not belong to the set "
        '"Kerberos,Certificate,CertificateAndKerberos" specified by the ValidateSet attribute. '
        "Supply an argument that is in the set and then try the command again."
    )


def test_one_round_trip_discovery(hv01: HyperVHost) -> None:
    _populate(hv01)
    script = (
        "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
        "$HostRows = @(Get-VMHost | Select-Object Name)\n"
        "$VMsRows = @(Get-VM | Select-Object Name)\n"
        "$VhdsRows = @(Get-VM | Get-VMHardDiskDrive | Get-VHD | Select-Object Size)\n"
        "$result = @{ Host = $HostRows; VMs = $VMsRows; Vhds = $VhdsRows }\n"
        "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
        "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
    )
    import base64

    result = hv01.run_script(script)
    assert result.exit_code == 0
    assert base64.b64decode(result.stdout.strip()).decode() == (
        '[{"Host":[{"Name":"hv01"}],"VMs":[{"Name":"web"},{"Name":"db"}],'
        '"Vhds":[{"Size":1048576},{"Size":2097152},{"Size":1048576}]}]'
    )
    assert hv01.commands_run() == [
        "Get-VMHost",
        "Select-Object",
        "Get-VM",
        "Select-Object",
        "Get-VM",
        "Get-VMHardDiskDrive",
        "Get-VHD",
        "Select-Object",
        "ConvertTo-Json",
    ]


def test_vanished_vm(ps: Runner, hv01: HyperVHost) -> None:
    _populate(hv01)
    hv01.remove_vm("db")
    assert ps.error("Stop-VM -Name 'db' -Force") == (
        'Stop-VM : Hyper-V was unable to find a virtual machine with name "db".'
    )
