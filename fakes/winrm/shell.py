"""Remote shells and their commands: what a WinRS host keeps between requests.

Each command runs its backend in a worker thread of its own, so a ``Receive``
can give up after the operation timeout while the command goes on, and a
later ``Receive`` collects the output. Finished output is cut into stream
chunks and handed out in as many ``Receive`` answers as the client's
``MaxEnvelopeSize`` requires.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable

from fakes.winrm import protocol_faults
from fakes.winrm.backend import CommandBackend, CommandRequest, CommandResult
from fakes.winrm.soap import StreamChunk

#: Room for the XML around one ``rsp:Stream`` element (names, command id, End flag).
STREAM_ELEMENT_OVERHEAD = 160
#: How long :meth:`ShellTable.close` waits for each still-running backend call.
_WORKER_JOIN_SECONDS = 2.0

BackendErrorHook = Callable[[CommandRequest, Exception], None]


def _new_id() -> str:
    # Windows hands out upper-case GUIDs for shells and commands.
    return str(uuid.uuid4()).upper()


def _encoded_size(raw_size: int) -> int:
    return 4 * ((raw_size + 2) // 3)


class RunningCommand:
    """One command: its worker thread, its result, and the output not yet received."""

    def __init__(self, request: CommandRequest, chunk_bytes: int) -> None:
        self.command_id = _new_id()
        self.request = request
        self._chunk_bytes = chunk_bytes
        self._changed = threading.Condition()
        self._result: CommandResult | None = None
        self._abandoned = False
        self._pending: deque[StreamChunk] = deque()
        self._thread: threading.Thread | None = None

    def start(self, backend: CommandBackend, on_error: BackendErrorHook) -> None:
        """Run the backend in a worker thread."""
        self._thread = threading.Thread(
            target=self._run,
            args=(backend, on_error),
            name=f"winrm-command-{self.command_id}",
            daemon=True,
        )
        self._thread.start()

    def _run(self, backend: CommandBackend, on_error: BackendErrorHook) -> None:
        try:
            result = backend.run(self.request)
        except Exception as exc:
            # A failing backend is a failing process on a real host: exit code 1, text on stderr.
            on_error(self.request, exc)
            result = CommandResult(b"", f"{type(exc).__name__}: {exc}".encode(), 1)
        self._finish(result)

    def _finish(self, result: CommandResult) -> None:
        with self._changed:
            self._result = result
            self._pending.extend(self._chunks("stdout", result.stdout))
            self._pending.extend(self._chunks("stderr", result.stderr))
            self._changed.notify_all()

    def _chunks(self, name: str, data: bytes) -> list[StreamChunk]:
        step = self._chunk_bytes
        return [StreamChunk(name, data[i : i + step]) for i in range(0, len(data), step)]

    def wait(self, timeout: float) -> bool:
        """Block until the command finished (``True``) or the timeout passed."""
        with self._changed:
            self._changed.wait_for(lambda: self._result is not None or self._abandoned, timeout)
            return self._result is not None

    def abandon(self) -> None:
        """Wake every waiter: the server is stopping."""
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    @property
    def finished(self) -> bool:
        with self._changed:
            return self._result is not None

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def take_output(self, budget: int) -> tuple[list[StreamChunk], int | None]:
        """Chunks whose base64 fits ``budget`` bytes, plus the exit code once all are out."""
        with self._changed:
            if self._result is None:
                raise RuntimeError("take_output() before the command finished")
            chunks = self._take_chunks(budget)
            if self._pending:
                return chunks, None
            chunks += [StreamChunk("stdout", b"", end=True), StreamChunk("stderr", b"", end=True)]
            return chunks, self._result.exit_code

    def _take_chunks(self, budget: int) -> list[StreamChunk]:
        taken: list[StreamChunk] = []
        while self._pending:
            cost = _encoded_size(len(self._pending[0].data)) + STREAM_ELEMENT_OVERHEAD
            if taken and cost > budget:
                break
            taken.append(self._pending.popleft())
            budget -= cost
        return taken


class Shell:
    """One ``cmd`` shell and the commands started in it."""

    def __init__(self, owner: str) -> None:
        self.shell_id = _new_id()
        self.owner = owner
        self._commands: dict[str, RunningCommand] = {}
        self._lock = threading.Lock()

    def add(self, command: RunningCommand) -> None:
        with self._lock:
            self._commands[command.command_id] = command

    def command(self, command_id: str) -> RunningCommand:
        with self._lock:
            found = self._commands.get(command_id.upper())
        if found is None:
            raise protocol_faults.command_not_found()
        return found

    def terminate(self, command_id: str) -> None:
        """Forget a command; a worker still running finishes unseen."""
        with self._lock:
            removed = self._commands.pop(command_id.upper(), None)
        if removed is None:
            raise protocol_faults.command_not_found()

    def commands(self) -> list[RunningCommand]:
        with self._lock:
            return list(self._commands.values())


class ShellTable:
    """Every open shell of one fake host, by id; a shell belongs to the user who opened it."""

    def __init__(self) -> None:
        self._shells: dict[str, Shell] = {}
        self._lock = threading.Lock()
        self._every_command: list[RunningCommand] = []

    def open(self, owner: str) -> Shell:
        shell = Shell(owner)
        with self._lock:
            self._shells[shell.shell_id] = shell
        return shell

    def get(self, shell_id: str | None, user: str) -> Shell:
        with self._lock:
            shell = self._shells.get((shell_id or "").upper())
        if shell is None or shell.owner.lower() != user.lower():
            raise protocol_faults.shell_not_found(shell_id or "")
        return shell

    def delete(self, shell_id: str | None, user: str) -> None:
        shell = self.get(shell_id, user)
        with self._lock:
            self._shells.pop(shell.shell_id, None)

    def track(self, command: RunningCommand) -> None:
        """Remember a started command so that :meth:`close` can wake and join it."""
        with self._lock:
            # Drop finished ones so a long benchmark does not grow the list without bound.
            self._every_command = [known for known in self._every_command if not known.finished]
            self._every_command.append(command)

    def open_count(self) -> int:
        with self._lock:
            return len(self._shells)

    def close(self) -> None:
        """Wake every waiting ``Receive`` and give running backends a moment to end."""
        with self._lock:
            commands, self._every_command = self._every_command, []
            self._shells.clear()
        for command in commands:
            command.abandon()
        for command in commands:
            command.join(_WORKER_JOIN_SECONDS)
