"""The simulated lab process: up, reachable over real WinRM by the plugin, down."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import plugins.hyperv.plugin as hyperv_plugin
from fakes.lab.labfile import LabFile
from fakes.lab.scenarios import S1_MACHINES
from provider.cli.lab_cmd import start_lab, stop_lab
from provider.contracts.connection import FabricConnection, Secret
from provider.errors import ConfigurationError


@pytest.fixture
def running_lab(tmp_path: Path):
    path = tmp_path / "lab.json"
    lab = start_lab("S1", path)
    yield path, lab
    if path.exists():
        stop_lab(path)


def test_lab_serves_its_hosts_over_winrm_and_stops_cleanly(running_lab) -> None:
    path, lab = running_lab
    assert [host.name for host in lab.hosts] == list(S1_MACHINES)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    for host in lab.hosts:
        connection = FabricConnection(
            f"lab-{host.name}",
            "hyperv",
            host.address,
            host.username,
            Secret(host.password),
            (("transport", host.transport),),
        )
        inventory = hyperv_plugin.srp_discover(connection)
        hyperv_plugin.srp_disconnect(connection)
        assert sorted(m.name for m in inventory.machines) == sorted(S1_MACHINES[host.name])
    stopped = stop_lab(path)
    assert stopped.pid == lab.pid
    assert not path.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(lab.pid, os.WNOHANG)  # already reaped: it exited


def test_a_second_lab_is_refused_while_one_runs(running_lab) -> None:
    path, lab = running_lab
    with pytest.raises(ConfigurationError, match=f"a lab is already running \\(pid {lab.pid}\\)"):
        start_lab("S1", path)


def test_down_without_a_lab_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no lab is running"):
        stop_lab(tmp_path / "lab.json")


def test_a_damaged_lab_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "lab.json"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="is damaged"):
        LabFile.read(path)
