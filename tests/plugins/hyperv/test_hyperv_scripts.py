"""The script catalog: exact text, fixed shape, values only through ps_quote/ps_int."""

from __future__ import annotations

from plugins.hyperv import scripts
from plugins.hyperv.scripts import (
    CutConsistency,
    FailoverStep,
    PreviousCut,
    ReplicationSettings,
)

PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
EPILOGUE = (
    "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
    "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
)


def body(script: scripts.Script) -> str:
    assert script.text.startswith(PROLOGUE)
    assert script.text.endswith(EPILOGUE)
    return script.text[len(PROLOGUE) : -len(EPILOGUE)]


def test_get_vm_stringifies_enums_and_quotes_the_name() -> None:
    script = scripts.get_vm("x'; Remove-VM *")
    assert script.command == "Get-VM"
    assert body(script) == (
        "$result = Get-VM -Name 'x''; Remove-VM *' | Select-Object Name, "
        "@{n='Id';e={[string]$_.Id}}, @{n='State';e={[string]$_.State}}, Generation, "
        "ProcessorCount, MemoryStartup, "
        "@{n='ReplicationState';e={[string]$_.ReplicationState}}, "
        "@{n='ReplicationHealth';e={[string]$_.ReplicationHealth}}, "
        "@{n='ReplicationMode';e={[string]$_.ReplicationMode}}, ComputerName\n"
    )


def test_discovery_is_one_script_returning_one_hashtable() -> None:
    lines = body(scripts.discover_host()).splitlines()
    assert [line.split(" = ", 1)[0] for line in lines] == [
        "$HostRows",
        "$VMsRows",
        "$DrivesRows",
        "$VhdsRows",
        "$NicsRows",
        "$SwitchesRows",
        "$result",
    ]
    assert lines[3].startswith(
        "$VhdsRows = @(Get-VM | Get-VMHardDiskDrive | Get-VHD | Select-Object"
    )
    assert lines[-1] == (
        "$result = @{ Host = $HostRows; VMs = $VMsRows; Drives = $DrivesRows; "
        "Vhds = $VhdsRows; Nics = $NicsRows; Switches = $SwitchesRows }"
    )


def test_new_cut_lists_vms_and_previous_markers() -> None:
    script = scripts.new_cut(
        ["a", "b\u2019c"],
        "cut-7",
        CutConsistency.APPLICATION,
        [PreviousCut("vm-1", "d-1", "cut-6")],
    )
    assert body(script) == (
        "$result = New-SrpCut -VMName 'a','b\u2019\u2019c' -CutId 'cut-7' "
        "-Consistency 'Application' -Previous 'vm-1/d-1=cut-6'\n"
    )
    first = scripts.new_cut(["a"], "c0", CutConsistency.CRASH, [])
    assert body(first) == "$result = New-SrpCut -VMName 'a' -CutId 'c0' -Consistency 'Crash'\n"


def test_read_extents_and_digests_scripts() -> None:
    read = scripts.read_cut_extents("c1", "vm", "d", [(0, 4096), (8192, 512)])
    assert body(read) == (
        "$result = Read-SrpCutExtent -CutId 'c1' -VMId 'vm' -DiskId 'd' "
        "-Extents '0:4096,8192:512'\n"
    )
    digests = scripts.block_digests("c1", "vm", "d", 65536, 131072, 8)
    assert body(digests) == (
        "$result = Get-SrpBlockDigests -CutId 'c1' -VMId 'vm' -DiskId 'd' "
        "-BlockSize 65536 -Offset 131072 -Count 8\n"
    )


def test_replica_scripts() -> None:
    settings = ReplicationSettings("hv02", frequency_sec=30, recovery_history=4)
    assert body(scripts.enable_replication("web", settings)) == (
        "$result = Enable-VMReplication -VMName 'web' -ReplicaServerName 'hv02' "
        "-ReplicaServerPort 80 -AuthenticationType 'Kerberos' -CompressionEnabled $true "
        "-RecoveryHistory 4 -ReplicationFrequencySec 30 -AutoResynchronizeEnabled $true\n"
    )
    assert body(scripts.start_failover("web", FailoverStep.PREPARE)) == (
        "$result = Start-VMFailover -VMName 'web' -Prepare\n"
    )
    assert body(scripts.start_failover("web", FailoverStep.FAILOVER)) == (
        "$result = Start-VMFailover -VMName 'web'\n"
    )
    assert body(scripts.reverse_replication("web", "hv01")) == (
        "$result = Set-VMReplication -VMName 'web' -Reverse -ReplicaServerName 'hv01'\n"
    )
