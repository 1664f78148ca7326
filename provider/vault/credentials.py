"""Vault credentials files: what an operator hands to ``srp register``.

The vault issues a small XML document naming itself, when it was issued,
when it expires (5 days by default) and, when known, the service URL. The
fields are signed with the vault's Ed25519 key over a canonical text, so a
changed field, a file from another vault or an expired file is refused::

    <VaultCredentials version="1">
      <VaultId>...</VaultId>
      <IssuedAt>2027-01-15T08:00:00Z</IssuedAt>
      <ExpiresAt>2027-01-20T08:00:00Z</ExpiresAt>
      <ServiceUrl>https://127.0.0.1:8443</ServiceUrl>
      <Signature algorithm="Ed25519">base64...</Signature>
    </VaultCredentials>

The file comes from outside, so it is parsed with a hardened parser: no DTD,
no entities, no network, a size cap; a DOCTYPE is refused before parsing.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lxml import etree

from provider.errors import (
    CredentialsError,
    CredentialsExpired,
    CredentialsForeign,
    CredentialsTampered,
)
from provider.vault.setup import Vault

ROOT = "VaultCredentials"
VERSION = "1"
DEFAULT_VALID_DAYS = 5.0
#: A genuine file is under 1 KiB; anything far larger is not one of ours.
MAX_FILE_BYTES = 16 * 1024
_SIGNED_LABEL = "srp-vault-credentials/1"
_FIELDS = ("VaultId", "IssuedAt", "ExpiresAt", "ServiceUrl")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class VaultCredentials:
    """The verified content of a vault credentials file."""

    vault_id: str
    issued_at: float
    expires_at: float
    service_url: str = ""


def issue_credentials(
    vault: Vault, *, now: float, valid_days: float = DEFAULT_VALID_DAYS, service_url: str = ""
) -> bytes:
    """A signed credentials file (UTF-8 XML) valid for ``valid_days`` from ``now``."""
    if not 0 < valid_days <= 365:
        raise CredentialsError(f"a credentials file is valid 0 to 365 days, not {valid_days!r}")
    fields = {
        "VaultId": vault.vault_id,
        "IssuedAt": _format_time(now),
        "ExpiresAt": _format_time(now + valid_days * 86400),
        "ServiceUrl": service_url,
    }
    signature = vault.signing_key.sign(canonical(fields))
    return _document(fields, base64.b64encode(signature).decode("ascii"))


def verify_credentials(
    data: bytes, *, vault_id: str, public_key: bytes, now: float
) -> VaultCredentials:
    """The file's content once it is proven this vault's, untouched and unexpired."""
    fields, signature = parse_credentials(data)
    if fields["VaultId"] != vault_id:
        raise CredentialsForeign(
            f"the credentials file was issued by vault {fields['VaultId']!r}, not this vault "
            f"({vault_id})",
            hint="download a credentials file from the vault you register with",
        )
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, canonical(fields))
    except InvalidSignature as exc:
        raise CredentialsTampered(
            "the credentials file's signature does not match its contents: it was changed "
            "after the vault issued it",
            hint="issue a new one with `srp vault credentials`",
        ) from exc
    return _checked_expiry(fields, now)


def parse_credentials(data: bytes) -> tuple[dict[str, str], bytes]:
    """The signed fields and the signature; CredentialsError for anything malformed."""
    root = _parse(data)
    if root.tag != ROOT or root.get("version") != VERSION:
        raise CredentialsError(
            f"this is not an srp vault credentials file (root <{root.tag}>, "
            f"version {root.get('version')!r})"
        )
    fields = {name: _text(root, name) for name in _FIELDS}
    for name in ("VaultId", "IssuedAt", "ExpiresAt"):
        if not fields[name]:
            raise CredentialsError(f"the credentials file has no {name}")
    return fields, _signature(root)


def canonical(fields: dict[str, str]) -> bytes:
    """The exact bytes that are signed: a label, then one ``name=value`` line per field."""
    lines = [_SIGNED_LABEL, *(f"{name}={fields[name]}" for name in _FIELDS)]
    return "\n".join(lines).encode("utf-8")


def _parse(data: bytes) -> etree._Element:
    if len(data) > MAX_FILE_BYTES:
        raise CredentialsError(
            f"the credentials file is {len(data)} bytes, over the {MAX_FILE_BYTES} a genuine "
            "one can be"
        )
    # Refused before any parser sees it: no DTD means no entity can expand.
    if _DECLARATIONS.search(data):
        raise CredentialsError(
            "the credentials file declares a DOCTYPE or entities; refused unparsed"
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CredentialsError(
            f"the credentials file is not well-formed XML (truncated or damaged): {exc}"
        ) from exc


def _text(root: etree._Element, name: str) -> str:
    found = root.findall(name)
    if len(found) > 1:
        raise CredentialsError(f"the credentials file names {name} twice")
    if not found:
        return ""
    element = found[0]
    if len(element):
        raise CredentialsError(f"the credentials file's {name} holds markup, not text")
    return (element.text or "").strip()


def _signature(root: etree._Element) -> bytes:
    element = root.find("Signature")
    if element is None or element.get("algorithm") != "Ed25519":
        raise CredentialsError("the credentials file has no Ed25519 signature")
    try:
        signature = base64.b64decode((element.text or "").strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialsError("the credentials file's signature is not base64") from exc
    if len(signature) != 64:
        raise CredentialsError("the credentials file's signature is not 64 bytes long")
    return signature


def _checked_expiry(fields: dict[str, str], now: float) -> VaultCredentials:
    issued, expires = _parse_time(fields["IssuedAt"]), _parse_time(fields["ExpiresAt"])
    if now >= expires:
        raise CredentialsExpired(
            f"the credentials file expired at {fields['ExpiresAt']}",
            hint="issue a new one with `srp vault credentials`",
        )
    return VaultCredentials(fields["VaultId"], issued, expires, fields["ServiceUrl"])


def _format_time(when: float) -> str:
    return datetime.fromtimestamp(int(when), tz=UTC).strftime(_TIME_FORMAT)


def _parse_time(text: str) -> float:
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise CredentialsError(f"the credentials file has a malformed time {text!r}") from exc


def _document(fields: dict[str, str], signature: str) -> bytes:
    root = etree.Element(ROOT, version=VERSION)
    for name in _FIELDS:
        etree.SubElement(root, name).text = fields[name]
    etree.SubElement(root, "Signature", algorithm="Ed25519").text = signature
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
