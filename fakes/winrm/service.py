"""The WS-Management shell service of a fake host: one SOAP request in, one answer out.

This layer knows nothing of HTTP or authentication: the HTTP front hands it
the clear-text envelope and the authenticated user, and sends back the
status and body it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from fakes.winrm import protocol_faults, soap
from fakes.winrm.backend import CommandBackend, CommandRequest, decode_encoded_command
from fakes.winrm.faults import FaultSwitches
from fakes.winrm.protocol_faults import WsmanFault
from fakes.winrm.shell import STREAM_ELEMENT_OVERHEAD, RunningCommand, ShellTable
from fakes.winrm.stats import ServerStats

#: pywinrm's ``MaxEnvelopeSize`` header, used when a request carries none.
CLIENT_DEFAULT_MAX_ENVELOPE = 153_600
#: Room kept for the envelope, headers, command state and the two end markers.
_RECEIVE_RESERVE = 2048 + 2 * STREAM_ELEMENT_OVERHEAD
_DEFAULT_OPERATION_TIMEOUT = 60.0


@dataclass(frozen=True)
class Reply:
    """What the HTTP front sends back: 200 with an answer, or 500 with a SOAP fault."""

    status: int
    body: bytes


@dataclass(frozen=True)
class HostIdentity:
    """Who the service answers as: the fake host's name and its WS-Man address."""

    host_name: str
    address: str


Handler = Callable[[soap.Envelope, str], bytes]


class WsmanService:
    """Dispatches ``Create``, ``Command``, ``Receive``, ``Signal`` and ``Delete``."""

    def __init__(
        self,
        backend: CommandBackend,
        identity: HostIdentity,
        faults: FaultSwitches,
        stats: ServerStats,
        chunk_bytes: int,
    ) -> None:
        self._backend = backend
        self._identity = identity
        self._faults = faults
        self._stats = stats
        self._chunk_bytes = chunk_bytes
        self.shells = ShellTable()
        self._handlers: dict[str, Handler] = {
            soap.ACTION_CREATE: self._create,
            soap.ACTION_COMMAND: self._command,
            soap.ACTION_RECEIVE: self._receive,
            soap.ACTION_SIGNAL: self._signal,
            soap.ACTION_DELETE: self._delete,
        }

    def handle(self, data: bytes, username: str) -> Reply:
        """Answer one clear-text request envelope sent by ``username``."""
        envelope: soap.Envelope | None = None
        try:
            self._check_size(data)
            envelope = soap.parse_envelope(data)
            self._stats.count_action(envelope.action)
            return Reply(200, self._dispatch(envelope, username))
        except WsmanFault as fault:
            self._stats.count("faults")
            relates_to = envelope.message_id if envelope is not None else None
            body = soap.fault_envelope(fault.detail, relates_to, self._identity.host_name)
            return Reply(500, body)

    def close(self) -> None:
        """Wake waiting requests and let running commands end."""
        self.shells.close()

    def _check_size(self, data: bytes) -> None:
        limit = self._faults.max_envelope_bytes
        if len(data) > limit:
            raise protocol_faults.envelope_too_large(len(data), limit)

    def _dispatch(self, envelope: soap.Envelope, username: str) -> bytes:
        handler = self._handlers.get(envelope.action)
        if handler is None or envelope.resource_uri != soap.SHELL_RESOURCE_URI:
            raise protocol_faults.action_not_supported(envelope.action)
        return handler(envelope, username)

    def _create(self, envelope: soap.Envelope, username: str) -> bytes:
        shell = self.shells.open(username)
        return soap.resource_created(envelope.message_id, self._identity.address, shell.shell_id)

    def _command(self, envelope: soap.Envelope, username: str) -> bytes:
        shell = self.shells.get(envelope.shell_id, username)
        command = RunningCommand(self._command_request(envelope, username), self._chunk_bytes)
        shell.add(command)
        self.shells.track(command)
        self._stats.count("commands_run")
        command.start(self._backend, self._on_backend_error)
        return soap.command_response(envelope.message_id, command.command_id)

    def _command_request(self, envelope: soap.Envelope, username: str) -> CommandRequest:
        line = _body(envelope, "CommandLine")
        commands = soap.body_text(line, "rsp", "Command")
        if not commands or not commands[0].strip():
            raise protocol_faults.invalid_body("rsp:CommandLine has no rsp:Command.")
        command = commands[0].strip()
        arguments = soap.body_text(line, "rsp", "Arguments")
        return CommandRequest(
            host=self._identity.host_name,
            username=username,
            command=command,
            arguments=arguments,
            script=decode_encoded_command(command, arguments),
        )

    def _receive(self, envelope: soap.Envelope, username: str) -> bytes:
        shell = self.shells.get(envelope.shell_id, username)
        desired = _body(envelope, "Receive").find(soap.qualified("rsp", "DesiredStream"))
        command = shell.command(_command_id(desired))
        if not command.wait(self._operation_timeout(envelope)):
            raise protocol_faults.operation_timed_out()
        max_envelope = envelope.max_envelope_size or CLIENT_DEFAULT_MAX_ENVELOPE
        chunks, exit_code = command.take_output(max(max_envelope - _RECEIVE_RESERVE, 0))
        return soap.receive_response(envelope.message_id, command.command_id, chunks, exit_code)

    def _operation_timeout(self, envelope: soap.Envelope) -> float:
        override = self._faults.operation_timeout
        if override is not None:
            return override
        return envelope.operation_timeout or _DEFAULT_OPERATION_TIMEOUT

    def _signal(self, envelope: soap.Envelope, username: str) -> bytes:
        shell = self.shells.get(envelope.shell_id, username)
        signal = _body(envelope, "Signal")
        code = next(iter(soap.body_text(signal, "rsp", "Code")), "").strip()
        if code not in soap.SIGNAL_CODES:
            raise protocol_faults.invalid_body(f"Unknown signal code {code!r}.")
        # terminate, ctrl_c and ctrl_break all end a command that has no console here.
        shell.terminate(_command_id(signal))
        return soap.signal_response(envelope.message_id)

    def _delete(self, envelope: soap.Envelope, username: str) -> bytes:
        self.shells.delete(envelope.shell_id, username)
        return soap.delete_response(envelope.message_id)

    def _on_backend_error(self, request: CommandRequest, exc: Exception) -> None:
        self._stats.count("backend_errors")


def _body(envelope: soap.Envelope, local: str) -> etree._Element:
    body = envelope.body
    if body is None or body.tag != soap.qualified("rsp", local):
        raise protocol_faults.invalid_body(f"The s:Body does not hold an rsp:{local} element.")
    return body


def _command_id(element: etree._Element | None) -> str:
    command_id = element.get("CommandId") if element is not None else None
    if not command_id:
        raise protocol_faults.command_not_found()
    return command_id
