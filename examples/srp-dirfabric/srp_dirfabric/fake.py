"""A fake dirfabric host for tests: build host folders, act as the guest, flip faults.

Example::

    host = FakeKvmHost(tmp_path / "kvm01", users={"admin": "secret"})
    host.add_machine("web01", [256 * 1024])
    host.write_disk("web01", host.disk_ids("web01")[0], 0, b"hello")

Fault switches: :meth:`lose_tracking` (the block manifests vanish, as after
a host crash), :meth:`restart_agent` (every open session drops),
:meth:`set_reachable` (the host folder goes away and comes back), and
:meth:`remove_machine` (a machine deleted behind srp's back).
"""

from __future__ import annotations

import json
import secrets
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from srp_dirfabric.host import HOST_FILE, MACHINE_FILE, password_digest, write_json
from srp_dirfabric.tracking import lose


class FakeKvmHost:
    """A host directory with machines of raw sparse images."""

    def __init__(
        self, root: Path, *, name: str = "kvm01", users: Mapping[str, str] | None = None
    ) -> None:
        self.root = root
        self._away = root.with_name(root.name + ".offline")
        (root / "machines").mkdir(parents=True)
        accounts = {}
        for user, password in (users or {"admin": "secret"}).items():
            salt = secrets.token_hex(8)
            accounts[user] = {"salt": salt, "sha256": password_digest(salt, password)}
        write_json(
            root / HOST_FILE, {"kind": "dirfabric", "name": name, "epoch": 1, "users": accounts}
        )

    def add_machine(
        self, name: str, disk_sizes: Sequence[int], *, networks: Sequence[str] = ("lan",)
    ) -> str:
        """A running machine with zeroed sparse disks; returns its id."""
        machine_id = uuid.uuid4().hex
        folder = self.root / "machines" / machine_id
        folder.mkdir()
        disks = []
        for index, size in enumerate(disk_sizes):
            image = f"disk{index}.img"
            with (folder / image).open("wb") as file:
                file.truncate(size)
            disks.append({"id": uuid.uuid4().hex, "file": image, "capacity": size})
        record = {
            "id": machine_id,
            "name": name,
            "power_state": "running",
            "networks": list(networks),
            "disks": disks,
        }
        write_json(folder / MACHINE_FILE, record)
        return machine_id

    def disk_ids(self, name: str) -> list[str]:
        return [disk["id"] for disk in self._record(name)["disks"]]

    def read_disk(self, name: str, disk_id: str) -> bytes:
        return self._image(name, disk_id).read_bytes()

    def write_disk(self, name: str, disk_id: str, offset: int, data: bytes) -> None:
        with self._image(name, disk_id).open("r+b") as image:
            image.seek(offset)
            image.write(data)

    def remove_machine(self, name: str) -> None:
        shutil.rmtree(self._folder(name))

    def lose_tracking(self, name: str) -> None:
        from srp_dirfabric.host import MachineRecord

        folder = self._folder(name)
        lose(MachineRecord(folder.name, folder, self._record(name)))

    def restart_agent(self) -> None:
        """Every open session drops: the host's epoch moves on."""
        host = json.loads((self.root / HOST_FILE).read_text())
        host["epoch"] += 1
        write_json(self.root / HOST_FILE, host)

    def set_reachable(self, reachable: bool) -> None:
        if reachable and self._away.exists():
            self._away.rename(self.root)
        elif not reachable and self.root.exists():
            self.root.rename(self._away)

    def _folder(self, name: str) -> Path:
        for path in (self.root / "machines").glob(f"*/{MACHINE_FILE}"):
            if json.loads(path.read_text())["name"] == name:
                return path.parent
        raise KeyError(f"no machine named {name!r} on {self.root}")

    def _record(self, name: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads((self._folder(name) / MACHINE_FILE).read_text())
        return record

    def _image(self, name: str, disk_id: str) -> Path:
        folder = self._folder(name)
        (disk,) = [d for d in self._record(name)["disks"] if d["id"] == disk_id]
        return folder / str(disk["file"])
