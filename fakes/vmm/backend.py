"""A ``fakes.winrm`` command backend for a VMM lab: VMM servers and their Hyper-V hosts.

:func:`start_winrm_lab` serves every VMM server and every Hyper-V host of
the lab on its own loopback WinRM port (one :class:`fakes.winrm.WinRMLab`),
all with the same accounts, so the vmm plugin reaches the VMM server and,
with the same credentials, the hosts of its clouds.

Example::

    from fakes.vmm import VmmLab, start_winrm_lab

    lab = VmmLab()
    lab.add_server("vmm01")
    with start_winrm_lab(lab) as served:
        served.endpoint("vmm01")   # http://127.0.0.1:PORT/wsman
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fakes.hyperv.backend import DEFAULT_PASSWORD, DEFAULT_USER, HyperVBackend, ServedLab
from fakes.hyperv.powershell.output import console_bytes
from fakes.vmm.lab import VmmLab
from fakes.vmm.server import VmmServer
from fakes.winrm import CommandRequest, CommandResult, WinRMLab


class VmmBackend:
    """Runs each WinRM command on the VMM server, or else the lab host, named by the request."""

    def __init__(self, lab: VmmLab) -> None:
        self.lab = lab
        self._hosts = HyperVBackend(lab.hyperv)

    def run(self, request: CommandRequest) -> CommandResult:
        server = self.lab.find_server(request.host)
        if server is None:
            return self._hosts.run(request)
        if request.script is None:
            return _not_a_command(request.command)
        return _run_on(server, request.script)


def _run_on(server: VmmServer, script: str) -> CommandResult:
    raw = server.run_script(script)
    return CommandResult(raw.stdout, raw.stderr, raw.exit_code)


def _not_a_command(command: str) -> CommandResult:
    text = (
        f"'{command}' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n"
    )
    return CommandResult(b"", console_bytes(text), 1)


def start_winrm_lab(
    lab: VmmLab,
    *,
    users: Mapping[str, str] | None = None,
    auth: Iterable[str] = ("basic", "ntlm"),
    tls: bool = False,
) -> ServedLab:
    """Serve every VMM server and Hyper-V host on loopback; stop with ``stop()`` or ``with``."""
    accounts = dict(users) if users else {DEFAULT_USER: DEFAULT_PASSWORD}
    backend = VmmBackend(lab)
    served = WinRMLab(backend, lab.machine_names(), users=accounts, auth=auth, tls=tls).start()
    username, password = next(iter(accounts.items()))
    return ServedLab(served, username, password)
