"""vSphere error shapes: REST API errors and JSON API (vim25) faults.

The REST API (``/api/...``) answers errors as ``{"error_type": ...,
"messages": [{"id", "default_message", "args"}]}`` with an HTTP status
that goes with the type. The JSON API (``/sdk/vim25/...``) answers a fault
object named by ``_typeName`` (``ManagedObjectNotFound``,
``InvalidArgument``, ``NotAuthenticated``...) with HTTP 500 (401 for a
missing session). The fake raises these exceptions; the routers turn them
into bodies.
"""

from __future__ import annotations

from typing import Any

#: HTTP status of each REST error type, as vCenter sends it.
REST_STATUS = {
    "UNAUTHENTICATED": 401,
    "UNAUTHORIZED": 403,
    "NOT_FOUND": 404,
    "INVALID_ARGUMENT": 400,
    "ALREADY_IN_DESIRED_STATE": 400,
    "ALREADY_EXISTS": 400,
    "NOT_ALLOWED_IN_CURRENT_STATE": 400,
    "SERVICE_UNAVAILABLE": 503,
    "ERROR": 500,
}


class RestError(Exception):
    """An error of the REST API, as ``{"error_type", "messages"}``."""

    def __init__(self, error_type: str, message: str, message_id: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.message_id = message_id or f"com.vmware.vapi.std.errors.{error_type.lower()}"

    @property
    def status(self) -> int:
        return REST_STATUS.get(self.error_type, 500)

    def body(self) -> dict[str, Any]:
        return {
            "error_type": self.error_type,
            "messages": [{"args": [], "default_message": self.message, "id": self.message_id}],
        }


class VimFault(Exception):
    """A fault of the JSON API: ``{"_typeName": ..., "faultMessage": [], ...}``."""

    def __init__(self, type_name: str, message: str, status: int = 500, **fields: Any) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.status = status
        self.fields = fields

    def body(self) -> dict[str, Any]:
        return {
            "_typeName": self.type_name,
            "faultCause": None,
            "faultMessage": [],
            "message": self.message,
            **self.fields,
        }


def not_found(kind: str, moid: str) -> RestError:
    """The REST NOT_FOUND error for an unknown managed object."""
    return RestError(
        "NOT_FOUND",
        f"The {kind} with identifier '{moid}' does not exist.",
        "com.vmware.api.vcenter.vm.not_found" if kind == "virtual machine" else "",
    )


def object_not_found(type_name: str, moid: str) -> VimFault:
    """The JSON API's ManagedObjectNotFound for a reference that is gone."""
    return VimFault(
        "ManagedObjectNotFound",
        f"The object '{type_name}:{moid}' has already been deleted or has not been "
        "completely created",
        obj={"_typeName": "ManagedObjectReference", "type": type_name, "value": moid},
    )


def invalid_argument(prop: str, detail: str = "") -> VimFault:
    """InvalidArgument naming the property, as vSphere words it."""
    text = f"A specified parameter was not correct: {prop}"
    return VimFault(
        "InvalidArgument", f"{text}. {detail}" if detail else text, invalidProperty=prop
    )
