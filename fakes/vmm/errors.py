"""Errors of the VMM cmdlets, worded and shaped as the VMM PowerShell module shows them.

VMM reports failures as ``CarmineException`` error records whose message
ends with ``(Error ID: n)`` followed by the recommended action on the next
lines, and whose FullyQualifiedErrorId is the numeric id and the cmdlet
class (``1601,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.GetSCVMMServerCmdlet``).
"""

from __future__ import annotations

from fakes.hyperv.powershell.errors import ErrorRecord, PSError

#: The ids the fake uses, named for what they mean.
NAME_NOT_RESOLVED = 1601
SERVICE_NOT_RUNNING = 1605
PORT_REFUSED = 1610
INTERNAL_ERROR = 2606

_EXCEPTION = "CarmineException"


def vmm_error(error_id: int, message: str, action: str, *, category: str, target: str) -> PSError:
    """One VMM error record: the message with its id, then the recommended action."""
    return PSError(
        ErrorRecord(
            message=f"{message} (Error ID: {error_id})\n\n{action}",
            category=category,
            error_id=str(error_id),
            exception=_EXCEPTION,
            target=target,
            target_type="String" if target else "",
        )
    )


def name_not_resolved(computer: str) -> PSError:
    return vmm_error(
        NAME_NOT_RESOLVED,
        f"Unable to connect to the VMM management server {computer} because the specified "
        "computer name could not be resolved.",
        "Make sure that the computer name is correct, and then try the operation again.",
        category="ResourceUnavailable",
        target=computer,
    )


def service_not_running(server: str) -> PSError:
    return vmm_error(
        SERVICE_NOT_RUNNING,
        f"You cannot contact the VMM management server {server}. The Virtual Machine Manager "
        "service on that server is not running.",
        f"Start the Virtual Machine Manager service (SCVMMService) on {server}, and then try "
        "the operation again.",
        category="ResourceUnavailable",
        target=server,
    )


def port_refused(server: str, port: int) -> PSError:
    return vmm_error(
        PORT_REFUSED,
        f"Unable to connect to the VMM management server {server} on port {port}.",
        "Verify that the VMM management server is listening on the specified port (8100 by "
        "default), and then try the operation again.",
        category="ResourceUnavailable",
        target=server,
    )


def internal_error(server: str, detail: str) -> PSError:
    return vmm_error(
        INTERNAL_ERROR,
        f"An internal error has occurred on the VMM management server {server}: {detail}",
        "Try the operation again. If the problem persists, restart the Virtual Machine "
        "Manager service.",
        category="InvalidOperation",
        target=server,
    )
