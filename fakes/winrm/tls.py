"""Throw-away TLS material for an HTTPS fake host: a private CA and a server certificate.

The server certificate names ``localhost`` and ``127.0.0.1`` (plus any extra
host names), so a client that validates against :attr:`TlsMaterial.ca_cert`
(pywinrm: ``server_cert_validation='validate', ca_trust_path=...``) accepts
it. Keys are ECDSA P-256, signatures SHA-256: quick to generate, and the
SHA-256 signature fixes the hash of NTLM's ``tls-server-end-point`` channel
binding.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=30)
# Clocks of test machines drift; a certificate valid from yesterday is never "not yet valid".
_BACKDATE = datetime.timedelta(days=1)


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files, and the DER server certificate for channel bindings."""

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    server_cert_der: bytes

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context serving the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        return context

    def end_point_hash(self) -> bytes:
        """RFC 5929 ``tls-server-end-point`` hash: SHA-256 of the DER certificate."""
        return hashlib.sha256(self.server_cert_der).digest()


def generate_tls_material(directory: Path, extra_names: Sequence[str] = ()) -> TlsMaterial:
    """Write ``ca.pem``, ``server.pem`` and ``server.key`` into ``directory``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(server_key, ca_key, ca_cert, extra_names)
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_private_pem(server_key))
    paths[2].chmod(0o600)
    der = server_cert.public_bytes(serialization.Encoding.DER)
    return TlsMaterial(directory, *paths, server_cert_der=der)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _builder(
    subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "srp fake WinRM CA")])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        _builder("srp fake WinRM CA", name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    extra_names: Sequence[str],
) -> x509.Certificate:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    names += [x509.DNSName(name) for name in extra_names if name != "localhost"]
    names.append(x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")))
    authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return (
        _builder("localhost", ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(authority, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
