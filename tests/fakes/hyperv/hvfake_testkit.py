"""Helpers for the fake Hyper-V tests: run contract-shaped scripts and decode their output."""

from __future__ import annotations

import base64
import json
import re
from xml.sax.saxutils import unescape

from fakes.hyperv import HyperVHost, RawResult

PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
EPILOGUE = (
    "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
    "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
)
_ERROR_LINE = re.compile(r'<S S="Error">(.*?)</S>', re.DOTALL)


def contract_script(body: str) -> str:
    """A script in the contract's shape: prologue, ``$result = body``, epilogue."""
    return f"{PROLOGUE}$result = {body}\n{EPILOGUE}"


def error_lines(result: RawResult) -> list[str]:
    """The displayed error lines of a CLIXML stderr, line-break markers removed."""
    text = result.stderr.decode("cp437")
    lines = _ERROR_LINE.findall(text)
    return [unescape(line.replace("_x000D__x000A_", "")) for line in lines]


class Runner:
    """Runs contract scripts on a host and decodes their output."""

    def __init__(self, host: HyperVHost) -> None:
        self.host = host

    lines = staticmethod(error_lines)
    script = staticmethod(contract_script)

    def raw(self, body: str) -> RawResult:
        return self.host.run_script(contract_script(body))

    def json_text(self, body: str) -> str:
        result = self.raw(body)
        assert result.exit_code == 0, error_lines(result)
        return base64.b64decode(result.stdout.strip()).decode("utf-8")

    def ok(self, body: str) -> list:  # type: ignore[type-arg]
        decoded = json.loads(self.json_text(body))
        assert isinstance(decoded, list)
        return decoded

    def error(self, body: str) -> str:
        """The error's first message line (the ``Cmdlet : text`` line, wraps joined)."""
        result = self.raw(body)
        assert result.exit_code == 1
        assert result.stdout == b""
        lines = error_lines(result)
        message = []
        for line in lines:
            if line.startswith("At line:"):
                break
            message.append(line)
        return "".join(message)
