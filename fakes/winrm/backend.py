"""What a fake WinRM host runs: the command backend and its request and result.

The loopback server speaks WS-Management; what a command *does* is up to a
:class:`CommandBackend` that the tester (or a fake fabric) provides. The
server decodes ``powershell -encodedcommand <base64 of UTF-16LE>`` (what
``winrm.Session.run_ps`` sends) so that backends see the PowerShell script
in clear text.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Protocol

_POWERSHELL_NAMES = frozenset({"powershell", "powershell.exe", "pwsh", "pwsh.exe"})


@dataclass(frozen=True)
class CommandRequest:
    """One command as the shell received it.

    ``arguments`` holds one entry per ``rsp:Arguments`` element (pywinrm joins
    all arguments of ``run_cmd`` into one element, separated by spaces).
    ``script`` is the decoded PowerShell script when the command line is
    ``powershell -encodedcommand <b64>``, else ``None``.
    """

    host: str
    username: str
    command: str
    arguments: tuple[str, ...]
    script: str | None


@dataclass(frozen=True)
class CommandResult:
    """What the command printed and how it ended."""

    stdout: bytes
    stderr: bytes
    exit_code: int


class CommandBackend(Protocol):
    """Runs one command for a fake host; called in a worker thread per command."""

    def run(self, request: CommandRequest) -> CommandResult: ...


def decode_encoded_command(command: str, arguments: tuple[str, ...]) -> str | None:
    """The script of ``powershell -EncodedCommand <b64>``, or ``None`` for other commands.

    PowerShell accepts any prefix of ``-EncodedCommand`` down to ``-e`` and
    ``-ec``; a payload that is not base64 of UTF-16LE gives ``None`` (the
    backend then sees only the raw command line).
    """
    tokens = " ".join((command, *arguments)).split()
    if not tokens or tokens[0].lower() not in _POWERSHELL_NAMES:
        return None
    for index, token in enumerate(tokens[1:-1], start=1):
        if _is_encoded_command_switch(token):
            return _decode_utf16_base64(tokens[index + 1])
    return None


def _is_encoded_command_switch(token: str) -> bool:
    name = token.lower().lstrip("-/")
    if not token.startswith(("-", "/")) or not name:
        return False
    return name == "ec" or "encodedcommand".startswith(name)


def _decode_utf16_base64(payload: str) -> str | None:
    try:
        return base64.b64decode(payload, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return None
