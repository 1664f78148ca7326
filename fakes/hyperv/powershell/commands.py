"""How a cmdlet is declared to the fake: its parameters, its handler, its module.

A :class:`CmdletSpec` lists the parameters the real cmdlet has (the subset
the fake honours), with PowerShell's validation attributes (``ValidateSet``,
``ValidateRange``, ``Mandatory``, positions, pipeline input). The binder
(:mod:`~fakes.hyperv.powershell.binding`) checks a call against it and gives
the handler an :class:`Invocation` with converted values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fakes.hyperv.host import HyperVHost

#: The modules a cmdlet can come from; a host that is "not Hyper-V" lacks the first two.
HYPERV_MODULE = "Hyper-V"
AGENT_MODULE = "SrpAgent"
UTILITY_MODULE = "Microsoft.PowerShell.Utility"
CORE_MODULE = "Microsoft.PowerShell.Core"


@dataclass(frozen=True)
class Param:
    """One cmdlet parameter and its validation attributes.

    ``kind`` is one of ``string``, ``strings``, ``int``, ``long``, ``bool``,
    ``switch``, ``scriptblock``, ``object``, ``objects``.
    """

    name: str
    kind: str = "string"
    mandatory: bool = False
    position: int | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    aliases: tuple[str, ...] = ()
    pipeline: bool = False

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Session(Protocol):
    """What handlers may ask of the running interpreter."""

    def run_block(self, block: object, item: object) -> list[object]: ...

    def warn(self, text: str) -> None: ...


@dataclass(frozen=True)
class Invocation:
    """One call of a cmdlet with its bound arguments and its pipeline input."""

    host: HyperVHost
    session: Session
    arguments: dict[str, object]
    input: list[object] | None

    def has(self, name: str) -> bool:
        return name in self.arguments

    def get(self, name: str, default: object = None) -> object:
        return self.arguments.get(name, default)

    def text(self, name: str, default: str = "") -> str:
        value = self.arguments.get(name, default)
        return value if isinstance(value, str) else default

    def texts(self, name: str) -> list[str]:
        value = self.arguments.get(name)
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    def number(self, name: str, default: int = 0) -> int:
        value = self.arguments.get(name, default)
        return value if isinstance(value, int) else default

    def switch(self, name: str) -> bool:
        return self.arguments.get(name) is True


Handler = Callable[[Invocation], list[object]]


@dataclass(frozen=True)
class CmdletSpec:
    """A cmdlet: name, .NET class (for FullyQualifiedErrorId), module, parameters, handler."""

    name: str
    module: str
    command_class: str
    parameters: tuple[Param, ...]
    handler: Handler
    #: Groups of parameters of which at most one may be given (distinct parameter sets).
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: Parameters of which at least one is needed when there is no pipeline input.
    one_of: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())


def hyperv_class(name: str) -> str:
    """``Get-VM`` -> ``Microsoft.HyperV.PowerShell.Commands.GetVM``."""
    return "Microsoft.HyperV.PowerShell.Commands." + name.replace("-", "")


def agent_class(name: str) -> str:
    """``New-SrpCut`` -> ``SrpAgent.Commands.NewSrpCut``."""
    return "SrpAgent.Commands." + name.replace("-", "")


class Registry:
    """The cmdlets a fake host knows, looked up by name without case."""

    def __init__(self, specs: Iterable[CmdletSpec]) -> None:
        self._specs: dict[str, CmdletSpec] = {}
        for spec in specs:
            for name in (spec.name, *spec.aliases):
                self._specs[name.lower()] = spec

    def find(self, name: str, *, hyperv_installed: bool) -> CmdletSpec | None:
        """The cmdlet for ``name`` (optionally module-qualified, ``Hyper-V\\Get-VM``)."""
        module, _, bare = name.rpartition("\\")
        spec = self._specs.get(bare.lower())
        if spec is None or (module and module.lower() != spec.module.lower()):
            return None
        if not hyperv_installed and spec.module in (HYPERV_MODULE, AGENT_MODULE):
            return None
        return spec
