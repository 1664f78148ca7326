"""The master key file: format, permissions, atomic no-clobber writes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from provider.errors import AlreadyExists, CredentialsError
from provider.vault.keys import read_master_key, write_master_key

KEY = bytes(range(32))


def test_the_key_file_is_one_line_of_base64(tmp_path: Path) -> None:
    path = write_master_key(tmp_path, KEY)
    assert path == tmp_path / "vault.key"
    expected = f"srp-vault-key/1 {base64.urlsafe_b64encode(KEY).decode()}\n"
    assert path.read_text() == expected
    assert read_master_key(tmp_path) == KEY
    assert [p.name for p in tmp_path.iterdir()] == ["vault.key"]


def test_an_existing_key_is_kept_unless_forced(tmp_path: Path) -> None:
    write_master_key(tmp_path, KEY)
    with pytest.raises(AlreadyExists):
        write_master_key(tmp_path, bytes(32))
    assert read_master_key(tmp_path) == KEY
    write_master_key(tmp_path, bytes(32), force=True)
    assert read_master_key(tmp_path) == bytes(32)
    assert [p.name for p in tmp_path.iterdir()] == ["vault.key"]


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = write_master_key(tmp_path, KEY)
    path.chmod(0o644)
    with pytest.raises(CredentialsError) as caught:
        read_master_key(tmp_path)
    assert str(caught.value) == (
        f"the vault master key at {path} is accessible to other users (mode 0644) "
        f"(run `chmod 600 {path}`)"
    )


@pytest.mark.parametrize(
    "content",
    [
        "",
        "srp-vault-key/1",
        "srp-vault-key/1 !!!notbase64",
        f"srp-vault-key/2 {base64.urlsafe_b64encode(KEY).decode()}",
        f"srp-vault-key/1 {base64.urlsafe_b64encode(KEY[:16]).decode()}",
    ],
)
def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "vault.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(CredentialsError) as caught:
        read_master_key(tmp_path)
    assert str(caught.value) == (
        f"the file at {path} is not an srp vault master key "
        "(expected 'srp-vault-key/1 <32 bytes in base64url>')"
    )
