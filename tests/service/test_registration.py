"""Registration through the service: the credentials file, the plugin, the vault.

Every refusal leaves the vault without a fabric.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import httpx
from service_testkit import ADDRESS, PASSWORD, Lab, setup_protection

from provider.settings import Settings
from provider.store.vaultstore import VaultStore
from provider.vault.credentials import issue_credentials
from provider.vault.setup import init_vault, open_vault

DAY = 86400.0


def _register(client: httpx.Client, lab: Lab, credentials: bytes | str, **changes: object):
    text = credentials.decode() if isinstance(credentials, bytes) else credentials
    return client.post("/fabrics", json=lab.register_body(credentials=text, **changes))


def _assert_refused(response: httpx.Response, status: int, kind: str, client: httpx.Client):
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind
    assert client.get("/fabrics").json() == []
    return response.json()["error"]


def test_register_discovers_and_seals_the_secret(lab: Lab) -> None:
    with lab.client() as client:
        response = _register(client, lab, lab.credentials())
        assert response.status_code == 201, response.text
        fabric = response.json()
        shown = client.get(f"/fabrics/{fabric['name']}").json()
    assert (fabric["name"], fabric["kind"], fabric["address"]) == (ADDRESS, "simulated", ADDRESS)
    assert (fabric["containers"], fabric["machines"], fabric["networks"]) == (1, 2, 2)
    assert sorted(m["name"] for m in shown["inventory"]["machines"]) == ["db01", "web01"]
    assert [n["network_id"] for n in shown["inventory"]["networks"]] == ["net-db", "net-prod"]
    assert PASSWORD.encode() not in (lab.home / "vault.db").read_bytes()


def test_tampered_file_is_refused(lab: Lab) -> None:
    original = lab.credentials().decode()
    start = original.index("<ExpiresAt>") + len("<ExpiresAt>")
    tampered = original[:start] + "2099" + original[start + 4 :]
    with lab.client() as client:
        error = _assert_refused(
            _register(client, lab, tampered), 403, "CredentialsTampered", client
        )
    assert error["message"] == (
        "the credentials file's signature does not match its contents: it was changed after "
        "the vault issued it"
    )


def test_expired_file_is_refused(lab: Lab) -> None:
    old = lab.credentials(now=lab.clock.now() - 6 * DAY)
    with lab.client() as client:
        error = _assert_refused(_register(client, lab, old), 403, "CredentialsExpired", client)
    assert error["message"].startswith("the credentials file expired at ")


def test_truncated_file_is_refused(lab: Lab) -> None:
    data = lab.credentials()
    with lab.client() as client:
        error = _assert_refused(
            _register(client, lab, data[: len(data) // 2]), 403, "CredentialsError", client
        )
    assert error["message"].startswith("the credentials file is not well-formed XML")


def test_file_of_another_vault_is_refused(lab: Lab, tmp_path: Path) -> None:
    other_home = tmp_path / "other"
    with VaultStore.open(Settings.from_env({"SRP_HOME": str(other_home)})) as store:
        init_vault(store, other_home)
        other = open_vault(store, other_home)
    foreign = issue_credentials(other, now=lab.clock.now())
    with lab.client() as client:
        error = _assert_refused(_register(client, lab, foreign), 403, "CredentialsForeign", client)
    assert error["message"] == (
        f"the credentials file was issued by vault {other.vault_id!r}, not this vault "
        f"({lab.svc.vault.vault_id})"
    )


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE VaultCredentials [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<VaultCredentials version="1"><VaultId>&d;</VaultId></VaultCredentials>
"""


def test_entity_expansion_is_refused_unparsed(lab: Lab) -> None:
    with lab.client() as client:
        error = _assert_refused(
            _register(client, lab, BILLION_LAUGHS), 403, "CredentialsError", client
        )
    assert error["message"] == (
        "the credentials file declares a DOCTYPE or entities; refused unparsed"
    )


def test_external_entities_are_refused_without_reading_or_connecting(lab: Lab) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    hits: list[object] = []
    listener.settimeout(0.5)

    def accept() -> None:
        with contextlib.suppress(OSError):
            hits.append(listener.accept())

    watcher = threading.Thread(target=accept)
    watcher.start()
    hostile = (
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE VaultCredentials [\n"
        ' <!ENTITY file SYSTEM "file:///etc/passwd">\n'
        f' <!ENTITY net SYSTEM "http://127.0.0.1:{port}/x">\n'
        "]>\n"
        '<VaultCredentials version="1"><VaultId>&file;&net;</VaultId></VaultCredentials>\n'
    )
    with lab.client() as client:
        error = _assert_refused(_register(client, lab, hostile), 403, "CredentialsError", client)
    watcher.join()
    listener.close()
    assert hits == []
    assert "root:" not in error["message"]


def test_wrong_password_is_refused_and_nothing_is_stored(lab: Lab) -> None:
    with lab.client() as client:
        response = _register(client, lab, lab.credentials(), password="wrong")
        error = _assert_refused(response, 403, "AuthenticationFailed", client)
    assert error["message"] == "sim-01: the credentials were refused"


def test_kind_no_plugin_serves_is_refused(lab: Lab) -> None:
    with lab.client() as client:
        response = _register(client, lab, lab.credentials(), kind="proxmox")
        error = _assert_refused(response, 422, "NoPluginForKind", client)
    assert error["message"] == (
        "no plugin serves fabric kind 'proxmox'; served fabric kinds: cloud-replica, simulated"
    )


def test_registering_twice_says_so_and_reregister_keeps_the_fabric(lab: Lab) -> None:
    with lab.client() as client:
        first = _register(client, lab, lab.credentials()).json()
        again = _register(client, lab, lab.credentials())
        replaced = _register(client, lab, lab.credentials(), reregister=True)
        fabrics = client.get("/fabrics").json()
    assert again.status_code == 409
    assert again.json()["error"] == {
        "type": "AlreadyExists",
        "message": "simulated 'sim-01' is already registered as fabric 'sim-01'",
        "hint": "register again with --reregister to replace its credentials and re-discover",
    }
    assert replaced.status_code == 201
    assert replaced.json()["fabric_id"] == first["fabric_id"]
    assert [f["fabric_id"] for f in fabrics] == [first["fabric_id"]]


def test_unregister_stops_the_protection_it_names(lab: Lab) -> None:
    with lab.client() as client:
        setup_protection(lab, client)
        answer = client.post(
            "/items", json={"machines": ["web01"], "policy": "p30", "target": "cloud1"}
        ).json()
        lab.wait_job(answer["job_id"])
        removed = client.delete("/fabrics/sim-01").json()
        items = client.get("/items").json()
        fabrics = client.get("/fabrics").json()
    item_id = answer["items"][0]["item_id"]
    assert removed == {
        "fabric": "sim-01",
        "stopped": [{"item_id": item_id, "machine": "web01", "warning": ""}],
    }
    assert items == [] and fabrics == []
    assert not (lab.home / "process-server" / "pending" / item_id).exists()
    assert (
        not lab.fabric.machines[answer["items"][0]["machine_id"]]
        .disks[f"{answer['items'][0]['machine_id']}-d0"]
        .tracking_enabled
    )


def test_refresh_finds_a_new_machine(lab: Lab) -> None:
    with lab.client() as client:
        _register(client, lab, lab.credentials())
        lab.fabric.add_machine("app01", disks=[64 * 1024])
        refreshed = client.post("/fabrics/sim-01/refresh").json()
        machines = client.get("/machines").json()
    assert refreshed["machines"] == 3
    assert [m["name"] for m in machines] == ["app01", "db01", "web01"]
    assert {m["state"] for m in machines} == {"unprotected"}
