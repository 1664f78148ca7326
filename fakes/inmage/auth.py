"""``ComponentAuth_V2015_01``: the CX API's request signature, as the server checks it.

``k = sha256hex(passphrase)``;
``s = hmac_sha256_hex(k, "POST:/ScoutAPI/CXAPI.php:{FunctionName}:{RequestId}:{Version}")``;
``AccessSignature = hmac_sha256_hex(k, fp + ":" + s)``, where ``fp`` is
``hmac_sha256_hex(k, fingerprint)`` over HTTPS and empty over HTTP. The
fingerprint is the server certificate's SHA-256 over its DER bytes, in
lowercase hex without separators.
"""

from __future__ import annotations

import hashlib
import hmac

API_PATH = "/ScoutAPI/CXAPI.php"


def _hmac_hex(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def access_signature(
    passphrase: str, function: str, request_id: str, version: str, fingerprint: str = ""
) -> str:
    """The ``AccessSignature`` of one request."""
    key = hashlib.sha256(passphrase.encode()).hexdigest()
    string = _hmac_hex(key, f"POST:{API_PATH}:{function}:{request_id}:{version}")
    channel = _hmac_hex(key, fingerprint) if fingerprint else ""
    return _hmac_hex(key, f"{channel}:{string}")


def certificate_fingerprint(der: bytes) -> str:
    """The fingerprint a signature binds to: SHA-256 of the DER certificate, lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def verify(
    passphrase: str,
    signature: str,
    function: str,
    request_id: str,
    version: str,
    fingerprint: str = "",
) -> bool:
    expected = access_signature(passphrase, function, request_id, version, fingerprint)
    return hmac.compare_digest(expected, signature.lower())
