"""A ``fakes.winrm`` command backend that runs PowerShell on the fake Hyper-V hosts.

The loopback WinRM server decodes ``powershell -EncodedCommand`` and hands
the script here; :class:`HyperVBackend` routes it by ``CommandRequest.host``
(the server's host name) to the lab host of that name. Plain commands
(``run_cmd``) get cmd.exe's "not recognized" answer: the fake hosts only
speak PowerShell. :func:`start_winrm_lab` serves every lab host on its own
loopback port.

Example::

    import winrm
    from fakes.hyperv import HyperVLab, start_winrm_lab

    lab = HyperVLab()
    lab.add_host("hv01")
    with start_winrm_lab(lab) as served:
        session = winrm.Session(served.endpoint("hv01"), auth=served.credentials)
        session.run_ps("Get-VMHost | Select-Object Name")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Self

from fakes.hyperv.powershell.output import console_bytes
from fakes.hyperv.site import HyperVLab
from fakes.winrm import CommandRequest, CommandResult, WinRMLab

DEFAULT_USER = "administrator"
DEFAULT_PASSWORD = "Passw0rd!"


class HyperVBackend:
    """Runs each WinRM command on the lab host named by the request."""

    def __init__(self, lab: HyperVLab) -> None:
        self.lab = lab

    def run(self, request: CommandRequest) -> CommandResult:
        host = self.lab.find_host(request.host)
        if host is None:
            message = f"The fake WinRM host {request.host!r} is not a host of the Hyper-V lab.\r\n"
            return CommandResult(b"", console_bytes(message), 1)
        if request.script is None:
            return _not_a_command(request.command)
        raw = host.run_script(request.script)
        return CommandResult(raw.stdout, raw.stderr, raw.exit_code)


def _not_a_command(command: str) -> CommandResult:
    text = (
        f"'{command}' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n"
    )
    return CommandResult(b"", console_bytes(text), 1)


class ServedLab:
    """The lab's hosts served over loopback WinRM, with the credentials they accept."""

    def __init__(self, winrm: WinRMLab, username: str, password: str) -> None:
        self.winrm = winrm
        self.username = username
        self.password = password

    @property
    def credentials(self) -> tuple[str, str]:
        return self.username, self.password

    def endpoint(self, host_name: str) -> str:
        """``http(s)://127.0.0.1:PORT/wsman`` of one host."""
        return self.winrm[host_name].endpoint

    def url(self, host_name: str) -> str:
        return self.winrm[host_name].url

    def stop(self) -> None:
        self.winrm.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_winrm_lab(
    lab: HyperVLab,
    *,
    users: Mapping[str, str] | None = None,
    auth: Iterable[str] = ("basic", "ntlm"),
    tls: bool = False,
) -> ServedLab:
    """Start one loopback WinRM server per lab host; stop them with ``stop()`` or ``with``.

    ``users`` defaults to one administrator account; the first user's
    credentials are the ones :attr:`ServedLab.credentials` returns.
    """
    accounts = dict(users) if users else {DEFAULT_USER: DEFAULT_PASSWORD}
    names = [host.name for host in lab.hosts]
    served = WinRMLab(HyperVBackend(lab), names, users=accounts, auth=auth, tls=tls).start()
    username, password = next(iter(accounts.items()))
    return ServedLab(served, username, password)
