"""Return codes of the simulated CX API (``Returncode`` on ``Response`` and ``Function``).

``0`` is success. An authentication failure (a bad ``ComponentAuth_V2015_01``
signature, an unknown method) is reported on the ``Response`` itself, with
no function body; every other failure on the ``Function`` element.
"""

from __future__ import annotations

SUCCESS = "0"
#: The signature does not match: wrong passphrase, or a request altered in transit.
AUTH_FAILED = "1001"
#: The request is not a well-formed CX API request (or carries a DTD).
BAD_REQUEST = "1002"
#: No function of that name.
UNKNOWN_FUNCTION = "1003"
#: A parameter is missing or malformed.
BAD_PARAMETER = "1004"
#: A host, plan, component, rollback or request that does not exist.
NOT_FOUND = "1005"
#: The operation is not allowed in the current state.
NOT_ALLOWED = "1006"

MESSAGES = {
    SUCCESS: "Success",
    AUTH_FAILED: "Authentication failed",
    BAD_REQUEST: "Malformed request",
    UNKNOWN_FUNCTION: "Unknown function",
}
