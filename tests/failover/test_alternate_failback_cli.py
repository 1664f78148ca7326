"""``srp failover failback ITEM --alternate-host HOST --name NAME`` through the running service."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The CLI tests' running-service fixtures live in tests/service (imported by name there).
_KIT = str(Path(__file__).resolve().parent.parent / "service")
if _KIT not in sys.path:
    sys.path.insert(0, _KIT)

from service_testkit import cli_env, lab  # noqa: E402

from tests.cli.test_cli_failover import Capture, Site, run, run_json, site  # noqa: E402

__all__ = ["cli_env", "lab", "site"]


def test_failback_to_an_alternate_host_through_the_cli(site: Site, capsys: Capture) -> None:
    site.lab.fabric.add_host("hv02")
    for operation in ("planned", "commit", "reverse"):
        code, _, err = run(capsys, "failover", operation, "web01", "--wait")
        assert code == 0, err
    (replica,) = site.compute.machines(site.item_id())
    final = site.replica_content(replica.replica_id)
    argv = ("failover", "failback", "web01", "--alternate-host", "hv02", "--name", "web01-b")
    job = run_json(capsys, *argv, "--wait", "--json")
    assert (job["state"], job["error"]) == ("succeeded", "")
    assert (job["params"]["alternate_host"], job["params"]["alternate_name"]) == ("hv02", "web01-b")
    (created,) = [m for m in site.lab.fabric.machines.values() if m.name == "web01-b"]
    content = {d: disk.read(0, disk.capacity) for d, disk in created.disks.items()}
    assert list(content.values()) == list(final.values())
    assert (created.host, created.power_state) == ("hv02", "running")
    assert site.compute.find(replica.replica_id) is None
    item = run_json(capsys, "status", "--json")[0]
    assert (item["machine"], item["machine_id"], item["state"], item["direction"]) == (
        "web01-b",
        created.machine_id,
        "protected",
        "forward",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("web01", "--name", "web01-b"), "name is the new machine's: give it with alternate_host"),
        (
            ("web01", "db01", "--alternate-host", "hv02", "--name", "x"),
            "name is one new machine's: give it with exactly one item",
        ),
    ],
)
def test_a_misplaced_new_name_is_refused(
    site: Site, capsys: Capture, argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "failover", "failback", *argv)
    assert code == 4
    assert message in err
