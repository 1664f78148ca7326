"""The WS-Management faults the fake host answers, with Windows' codes and texts.

A :class:`WsmanFault` is raised inside the server and turned into a SOAP 1.2
fault envelope (HTTP 500) by :mod:`fakes.winrm.soap`; it never reaches a
caller of the fakes, so it stays outside srp's user-facing error tree. The
``wsman_code`` values are the ``ERROR_WSMAN_*`` numbers of Windows'
``wsmerror.h``, which clients such as pywinrm read from
``WSManFault/@Code``.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR_WSMAN_ACTION_NOT_SUPPORTED = 0x80338013
ERROR_WSMAN_OPERATION_TIMEDOUT = 0x80338029
ERROR_WSMAN_INVALID_SOAP_BODY = 0x80338027
ERROR_WSMAN_QUOTA_LIMIT = 0x8033803F
ERROR_WSMAN_INVALID_XML = 0x80338043
# WinRS answers an unknown shell or command id with this code.
ERROR_WINRS_SHELL_OR_COMMAND_NOT_FOUND = 0x8033805B

SENDER = "s:Sender"
RECEIVER = "s:Receiver"


@dataclass(frozen=True)
class FaultDetail:
    """Everything one SOAP fault carries."""

    code: str
    subcode: str
    reason: str
    wsman_code: int
    message: str


class WsmanFault(Exception):
    """A request the fake host refuses; answered as a SOAP fault."""

    def __init__(self, detail: FaultDetail) -> None:
        self.detail = detail
        super().__init__(f"{detail.subcode} ({detail.wsman_code}): {detail.message}")


def _fault(code: str, subcode: str, reason: str, wsman_code: int, message: str) -> WsmanFault:
    return WsmanFault(FaultDetail(code, subcode, reason, wsman_code, message))


def operation_timed_out() -> WsmanFault:
    text = (
        "The WS-Management service cannot complete the operation within the time "
        "specified in OperationTimeout."
    )
    return _fault(RECEIVER, "w:TimedOut", text, ERROR_WSMAN_OPERATION_TIMEDOUT, text)


def invalid_xml(why: str) -> WsmanFault:
    reason = "The WS-Management service cannot process the request because the XML is invalid."
    return _fault(SENDER, "w:SchemaValidationError", reason, ERROR_WSMAN_INVALID_XML, why)


def action_not_supported(action: str) -> WsmanFault:
    reason = "The WS-Management service does not support the action specified in the request."
    message = f"{reason} Action: {action}"
    return _fault(SENDER, "a:ActionNotSupported", reason, ERROR_WSMAN_ACTION_NOT_SUPPORTED, message)


def envelope_too_large(size: int, limit: int) -> WsmanFault:
    reason = (
        "The WS-Management service cannot process the request because the request exceeded a quota."
    )
    message = f"The request envelope of {size} bytes exceeds MaxEnvelopeSize of {limit} bytes."
    return _fault(SENDER, "w:EncodingLimit", reason, ERROR_WSMAN_QUOTA_LIMIT, message)


def shell_not_found(shell_id: str) -> WsmanFault:
    message = (
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because "
        "the shell was not found on the server. Possible causes are: the specified ShellId "
        "is incorrect or the shell no longer exists on the server. Provide the correct "
        "ShellId or create a new shell and retry the operation."
    )
    return _fault(
        SENDER, "w:InvalidSelectors", message, ERROR_WINRS_SHELL_OR_COMMAND_NOT_FOUND, message
    )


def command_not_found() -> WsmanFault:
    message = (
        "The Windows Remote Shell received a request to perform an operation on a command "
        "identifier that does not exist. Either the command has completed execution or the "
        "client specified an invalid command identifier."
    )
    return _fault(
        SENDER, "w:InvalidSelectors", message, ERROR_WINRS_SHELL_OR_COMMAND_NOT_FOUND, message
    )


def invalid_body(message: str) -> WsmanFault:
    reason = (
        "The WS-Management service cannot process the request because the request packet "
        "does not have a valid SOAP body."
    )
    return _fault(SENDER, "w:InvalidBody", reason, ERROR_WSMAN_INVALID_SOAP_BODY, message)
