"""HyperVClient: runs catalog scripts on one host and speaks provider errors.

Every failure leaves here as a :mod:`provider.errors` class whose message
names the host and the command, raised ``from`` the cause. Transient
failures (:class:`FabricUnreachable`: refused or dropped connections,
timeouts, WinRM service faults) are retried with exponential backoff up to a
limit; refused credentials never are. A step that changes the host (an
*action*) is retried only after probing whether the failed attempt took
effect anyway, so it never runs twice; an action with no way to probe is not
retried at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

import provider.clientpool
from plugins.hyperv.output import OutputRefused, PowerShellError, decode_payload, parse_error
from plugins.hyperv.scripts import Script
from plugins.hyperv.transport import (
    ClosableTransport,
    ScriptResult,
    ScriptTransport,
    open_transport,
)
from provider.contracts.connection import FabricConnection
from provider.errors import (
    FabricError,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    RemoteCommandFailed,
    SrpError,
    ValidationError,
    WrongFabricKind,
)

_NOT_RECOGNIZED = re.compile(
    r"The term '(?P<term>[^']*)' is not recognized as the name of a cmdlet"
)
_VM_NOT_FOUND = re.compile(
    r"unable to find a virtual machine|virtual machine .* (was )?not found", re.IGNORECASE
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 30.0

    @classmethod
    def from_connection(cls, connection: FabricConnection) -> RetryPolicy:
        """From the ``retry_attempts``, ``retry_wait`` and ``retry_max_wait`` options."""
        try:
            policy = cls(
                attempts=int(connection.option("retry_attempts", str(cls.attempts))),
                initial_wait=float(connection.option("retry_wait", str(cls.initial_wait))),
                max_wait=float(connection.option("retry_max_wait", str(cls.max_wait))),
            )
        except ValueError as exc:
            raise ValidationError(f"{_owner(connection)}: bad retry option: {exc}") from exc
        if policy.attempts < 1 or policy.initial_wait < 0 or policy.max_wait < 0:
            raise ValidationError(
                f"{_owner(connection)}: retry_attempts must be >= 1 and waits >= 0"
            )
        return policy


def _owner(connection: FabricConnection) -> str:
    return f"hyperv fabric {connection.fabric_id!r}"


@dataclass(frozen=True)
class EffectCheck:
    """How to tell whether an action took effect: a read-only probe and a test on its output."""

    probe: Script
    done: Callable[[list[Any]], bool]

    @classmethod
    def field_is(cls, probe: Script, field: str, *values: str) -> EffectCheck:
        """Done when a row of the probe's output has ``field`` equal to one of ``values``."""

        def done(found: list[Any]) -> bool:
            return any(isinstance(row, dict) and row.get(field) in values for row in found)

        return cls(probe, done)


class HyperVClient:
    """Runs catalog scripts on one Hyper-V host through a transport."""

    def __init__(
        self,
        host: str,
        transport: ScriptTransport,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.transport = transport
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    def query(self, script: Script) -> list[Any]:
        """Run a read-only (or idempotent) script; transient failures are retried."""
        return self._retrying()(self._run_once, script)

    def act(self, script: Script, check: EffectCheck | None = None) -> list[Any]:
        """Run a script that changes the host; see the module docstring for retries.

        When a retry finds through ``check`` that the first attempt took
        effect, the action is not run again and the result is empty.
        """
        if check is None:
            return self._run_once(script)
        attempt_numbers = iter(range(self.retry.attempts))
        return self._retrying()(self._act_once, script, check, attempt_numbers)

    def close(self) -> None:
        """Close the transport's session if it holds one."""
        if isinstance(self.transport, ClosableTransport):
            self.transport.close()

    def _act_once(
        self, script: Script, check: EffectCheck, attempt_numbers: Iterator[int]
    ) -> list[Any]:
        if next(attempt_numbers) > 0 and self._took_effect(check):
            return []
        return self._run_once(script)

    def _took_effect(self, check: EffectCheck) -> bool:
        try:
            return check.done(self.query(check.probe))
        except MachineNotFound:
            return False

    def _retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=wait_exponential(multiplier=self.retry.initial_wait, max=self.retry.max_wait),
            retry=retry_if_exception_type(FabricUnreachable),
            sleep=self._sleep,
            reraise=True,
        )

    def _run_once(self, script: Script) -> list[Any]:
        result = self._send(script)
        return self._interpret(script, result)

    def _send(self, script: Script) -> ScriptResult:
        try:
            return self.transport.run(script.text)
        except FabricError as exc:
            raise type(exc)(f"{self.host}: {script.command}: {exc.message}", hint=exc.hint) from exc
        except SrpError:
            raise
        except OSError as exc:
            raise FabricUnreachable(f"{self.host}: {script.command}: {exc}") from exc
        except Exception as exc:
            raise RemoteCommandFailed(
                f"{self.host}: {script.command}: transport failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _interpret(self, script: Script, result: ScriptResult) -> list[Any]:
        try:
            error = parse_error(result.stderr)
            if result.exit_code != 0 or (error is not None and not result.stdout.strip()):
                raise self._failure(script, result.exit_code, error)
            return decode_payload(result.stdout)
        except OutputRefused as exc:
            raise HostileResponse(f"{self.host}: {script.command}: output refused: {exc}") from exc

    def _failure(self, script: Script, code: int, error: PowerShellError | None) -> FabricError:
        where = f"{self.host}: {script.command}"
        if error is None:
            return RemoteCommandFailed(f"{where} exited with code {code} and printed no error")
        unknown = _NOT_RECOGNIZED.search(error.message)
        if unknown and "-Srp" not in unknown["term"]:
            return WrongFabricKind(f"{self.host} is not a Hyper-V host: {error.message}")
        if unknown:
            return RemoteCommandFailed(
                f"{where} failed: {error.message}", hint="install the SrpAgent module on the host"
            )
        if _VM_NOT_FOUND.search(error.message):
            return MachineNotFound(f"{where}: {error.message}")
        return RemoteCommandFailed(f"{where} failed: {error.message}")


class ClientPool(provider.clientpool.ClientPool[HyperVClient]):
    """One Hyper-V client per fabric id and address, dropped on disconnect."""

    def __init__(self, factory: Callable[[FabricConnection], HyperVClient] | None = None) -> None:
        super().__init__(factory or client_for)


def client_for(connection: FabricConnection) -> HyperVClient:
    """A client for the connection's host, transport and retry options."""
    return HyperVClient(
        connection.address, open_transport(connection), RetryPolicy.from_connection(connection)
    )
