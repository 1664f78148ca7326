"""``ComponentAuth_V2015_01``: how every CX API request is signed.

``k = sha256hex(passphrase)``;
``s = hmac_sha256_hex(k, "POST:/ScoutAPI/CXAPI.php:{FunctionName}:{RequestId}:{Version}")``;
``AccessSignature = hmac_sha256_hex(k, fp + ":" + s)`` with
``fp = hmac_sha256_hex(k, fingerprint)`` over HTTPS (the server
certificate's SHA-256 over its DER bytes, lowercase hex) and ``fp = ""``
over HTTP. Binding to the fingerprint means a signature captured by a
man in the middle is useless against the real CX.
"""

from __future__ import annotations

import hashlib
import hmac

from provider.contracts.connection import Secret

API_PATH = "/ScoutAPI/CXAPI.php"
AUTH_METHOD = "ComponentAuth_V2015_01"


def _hmac_hex(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign(
    passphrase: Secret, function: str, request_id: str, version: str, fingerprint: str = ""
) -> str:
    """The ``AccessSignature`` of one request."""
    key = hashlib.sha256(passphrase.reveal().encode()).hexdigest()
    string = _hmac_hex(key, f"POST:{API_PATH}:{function}:{request_id}:{version}")
    channel = _hmac_hex(key, fingerprint) if fingerprint else ""
    return _hmac_hex(key, f"{channel}:{string}")


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate, lowercase hex: what a signature binds to."""
    return hashlib.sha256(der).hexdigest()
