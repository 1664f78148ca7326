"""Shared pieces of the hyperv plugin tests: canned script results and a scripted transport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from plugins.hyperv.transport import ScriptResult
from provider.contracts.connection import FabricConnection

Step = ScriptResult | Exception
#: The ``connect`` fixture: ``connect("hv01", password=None, **options)``.
Connect = Callable[..., FabricConnection]


def ok(value: object) -> ScriptResult:
    return ScriptResult(base64.b64encode(json.dumps(value).encode()), b"", 0)


def clixml(*lines: str) -> bytes:
    body = "".join(f'<S S="Error">{line}_x000D__x000A_</S>' for line in lines)
    return f'#< CLIXML\r\n<Objs Version="1.1.0.1">{body}</Objs>'.encode()


def failed(*lines: str) -> ScriptResult:
    return ScriptResult(b"", clixml(*lines), 1)


class Scripted:
    """A transport that plays back one step per call and records the scripts it got."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.scripts: list[str] = []
        self.closed = False

    def run(self, script: str) -> ScriptResult:
        self.scripts.append(script)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def close(self) -> None:
        self.closed = True
