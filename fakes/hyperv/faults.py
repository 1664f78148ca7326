"""Fault switches of a fake Hyper-V host, for the plugin's bad-input and recovery tests.

Set them on ``host.faults`` at any time; clearing one makes the next script
behave normally again. Host-level faults that change the model (crash, lost
change tracking, a VM that vanishes) are methods of the host itself; network
faults between hosts (link drop) belong to the lab.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

#: The values of :attr:`HostFaults.hostile_output`.
HOSTILE_MODES = ("entity-expansion", "external-entity", "garbage-base64", "bad-json")

_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE Objs [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<S S="Error">&lol3;_x000D__x000A_</S></Objs>'
)
_EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE Objs [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<S S="Error">&secret;_x000D__x000A_</S></Objs>'
)


@dataclass
class HostFaults:
    """Switches that make a host misbehave.

    * ``not_hyperv``: the Hyper-V and SrpAgent modules are missing, so their
      cmdlets are "not recognized" (a Windows host without the role).
    * ``hostile_output``: one of :data:`HOSTILE_MODES`; every script then
      answers with a CLIXML document carrying a DOCTYPE with entities
      (expansion bomb or external file), or stdout that is not base64, or
      base64 of text that is not JSON.
    * ``vss_failure``: when set (the reason), application-consistent cuts and
      recovery points fall back to crash consistency.
    * ``startup_progress``: write the "Preparing modules for first use."
      progress records on stderr, as a fresh powershell.exe does (on by default).
    """

    not_hyperv: bool = False
    hostile_output: str | None = None
    vss_failure: str | None = None
    startup_progress: bool = True

    def __setattr__(self, name: str, value: object) -> None:
        if name == "hostile_output" and value is not None and value not in HOSTILE_MODES:
            raise ValueError(
                f"hostile_output must be one of {HOSTILE_MODES} or None, got {value!r}"
            )
        super().__setattr__(name, value)


def hostile_result(mode: str | None, stdout: bytes) -> tuple[bytes, bytes, int] | None:
    """The ``(stdout, stderr, exit code)`` a hostile host answers, or ``None`` when not hostile."""
    if mode == "entity-expansion":
        return b"", ("#< CLIXML\r\n" + _BILLION_LAUGHS).encode("ascii"), 1
    if mode == "external-entity":
        return b"", ("#< CLIXML\r\n" + _EXTERNAL_ENTITY).encode("ascii"), 1
    if mode == "garbage-base64":
        return b"%%% this is not base64 @@@\r\n", b"", 0
    if mode == "bad-json":
        return base64.b64encode(b'{"Name": [unterminated') + b"\r\n", b"", 0
    return None
