"""HyperVClient: error mapping with host and command, retries, effect-checked actions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from plugins.hyperv import scripts
from plugins.hyperv.client import (
    ClientPool,
    EffectCheck,
    HyperVClient,
    RetryPolicy,
    client_for,
)
from plugins.hyperv.transport import (
    ScriptResult,
    ScriptTransport,
    register_transport,
    unregister_transport,
)
from provider.contracts.connection import FabricConnection
from provider.errors import (
    AuthenticationFailed,
    FabricUnreachable,
    HostileResponse,
    MachineNotFound,
    RemoteCommandFailed,
    ValidationError,
    WrongFabricKind,
)
from tests.plugins.hyperv.hvplugin_testkit import Scripted, Step, failed, ok


def make(*steps: Step, attempts: int = 3) -> tuple[HyperVClient, Scripted, list[float]]:
    transport = Scripted(*steps)
    sleeps: list[float] = []
    client = HyperVClient("hv01", transport, RetryPolicy(attempts, 0.5, 1.5), sleeps.append)
    return client, transport, sleeps


def test_query_returns_the_payload() -> None:
    client, transport, _ = make(ok([{"Name": "hv01"}]))
    assert client.query(scripts.get_vm_host()) == [{"Name": "hv01"}]
    assert transport.scripts == [scripts.get_vm_host().text]


def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    client, transport, sleeps = make(
        FabricUnreachable("connection refused"), FabricUnreachable("reset"), ok([])
    )
    assert client.query(scripts.get_vm_host()) == []
    assert len(transport.scripts) == 3
    assert sleeps == [0.5, 1.0]


def test_retries_stop_at_the_limit_with_host_and_command_in_the_message() -> None:
    client, _, sleeps = make(*(FabricUnreachable("connection refused") for _ in range(3)))
    with pytest.raises(FabricUnreachable) as caught:
        client.query(scripts.get_vm_host())
    assert str(caught.value) == "hv01: Get-VMHost: connection refused"
    assert isinstance(caught.value.__cause__, FabricUnreachable)
    assert sleeps == [0.5, 1.0]


def test_refused_credentials_are_never_retried() -> None:
    client, transport, sleeps = make(AuthenticationFailed("HTTP 401"), ok([]))
    with pytest.raises(AuthenticationFailed, match=r"^hv01: Get-VMHost: HTTP 401$"):
        client.query(scripts.get_vm_host())
    assert len(transport.scripts) == 1
    assert sleeps == []


def test_action_without_effect_check_is_not_retried() -> None:
    client, transport, _ = make(FabricUnreachable("dropped"), ok([]))
    with pytest.raises(FabricUnreachable, match=r"^hv01: Start-VM: dropped$"):
        client.act(scripts.start_vm("web"))
    assert len(transport.scripts) == 1


def running(rows: list[dict[str, str]]) -> bool:
    return bool(rows) and rows[0]["State"] == "Running"


def test_action_retried_only_after_its_effect_is_checked() -> None:
    check = EffectCheck(scripts.get_vm("web"), running)
    client, transport, _ = make(FabricUnreachable("dropped"), ok([{"State": "Running"}]))
    assert client.act(scripts.start_vm("web"), check) == []
    assert transport.scripts == [scripts.start_vm("web").text, scripts.get_vm("web").text]

    client, transport, _ = make(FabricUnreachable("dropped"), ok([{"State": "Off"}]), ok([]))
    assert client.act(scripts.start_vm("web"), check) == []
    assert transport.scripts == [
        scripts.start_vm("web").text,
        scripts.get_vm("web").text,
        scripts.start_vm("web").text,
    ]


NOT_FOUND = (
    'Get-VM : Hyper-V was unable to find a virtual machine with name "gone".',
    "    + CategoryInfo          : InvalidArgument: (gone:String) [Get-VM], "
    "VirtualizationException",
)


@pytest.mark.parametrize(
    ("step", "error", "message"),
    [
        (
            failed(*NOT_FOUND),
            MachineNotFound,
            'hv01: Get-VM: Get-VM : Hyper-V was unable to find a virtual machine with name "gone".',
        ),
        (
            failed(
                "Get-VM : The term 'Get-VM' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program."
            ),
            WrongFabricKind,
            "hv01 is not a Hyper-V host: Get-VM : The term 'Get-VM' is not recognized as the "
            "name of a cmdlet, function, script file, or operable program.",
        ),
        (
            ScriptResult(b"", b"", 3),
            RemoteCommandFailed,
            "hv01: Get-VM exited with code 3 and printed no error",
        ),
        (
            failed("Get-VM : The operation failed because the file was not found."),
            RemoteCommandFailed,
            "hv01: Get-VM failed: Get-VM : The operation failed because the file was not found.",
        ),
        (
            ScriptResult(b"%%garbage%%", b"", 0),
            HostileResponse,
            "hv01: Get-VM: output refused: output is not base64 of UTF-8 text: ",
        ),
        (
            ScriptResult(b"", b'#< CLIXML\r\n<!DOCTYPE x [<!ENTITY a "b">]><Objs/>', 1),
            HostileResponse,
            "hv01: Get-VM: output refused: error output declares a DOCTYPE or an entity",
        ),
        (
            ConnectionResetError("peer reset"),
            FabricUnreachable,
            "hv01: Get-VM: peer reset",
        ),
        (
            RuntimeError("bug"),
            RemoteCommandFailed,
            "hv01: Get-VM: transport failed: RuntimeError: bug",
        ),
    ],
)
def test_failures_map_into_provider_errors(
    step: Step, error: type[Exception], message: str
) -> None:
    client, _, _ = make(step, step, step)
    with pytest.raises(error) as caught:
        client.query(scripts.get_vm("gone"))
    assert str(caught.value).startswith(message)
    if isinstance(step, Exception) or error is HostileResponse:
        assert caught.value.__cause__ is not None


def test_missing_agent_module_is_not_a_wrong_kind() -> None:
    client, _, _ = make(
        failed(
            "New-SrpCut : The term 'New-SrpCut' is not recognized as the name of a cmdlet, "
            "function, script file, or operable program."
        )
    )
    with pytest.raises(RemoteCommandFailed) as caught:
        client.act(scripts.new_cut(["a"], "c1", scripts.CutConsistency.CRASH, []))
    assert caught.value.hint == "install the SrpAgent module on the host"


def test_progress_on_stderr_does_not_fail_a_successful_script() -> None:
    progress = b'#< CLIXML\r\n<Objs Version="1.1.0.1"><Obj S="progress" RefId="0"/></Objs>'
    client, _, _ = make(ScriptResult(ok([1]).stdout, progress, 0))
    assert client.query(scripts.get_vm_host()) == [1]


def connection(fabric_id: str = "fab-1", **options: str) -> FabricConnection:
    return FabricConnection(fabric_id, "hyperv", "hv01", options=tuple(options.items()))


def test_retry_policy_from_options() -> None:
    assert RetryPolicy.from_connection(connection()) == RetryPolicy(4, 1.0, 30.0)
    custom = connection(retry_attempts="2", retry_wait="0", retry_max_wait="5")
    assert RetryPolicy.from_connection(custom) == RetryPolicy(2, 0.0, 5.0)
    with pytest.raises(ValidationError, match=r"^hyperv fabric 'fab-1': bad retry option: "):
        RetryPolicy.from_connection(connection(retry_attempts="many"))
    with pytest.raises(ValidationError, match=r"retry_attempts must be >= 1 and waits >= 0$"):
        RetryPolicy.from_connection(connection(retry_attempts="0"))


@pytest.fixture
def scripted_transport() -> Iterator[Callable[[FabricConnection], ScriptTransport]]:
    def factory(conn: FabricConnection) -> ScriptTransport:
        return Scripted()

    register_transport("test-scripted", factory)
    yield factory
    unregister_transport("test-scripted")


def test_pool_keeps_one_client_per_fabric_and_address_until_dropped(
    scripted_transport: Callable[[FabricConnection], ScriptTransport],
) -> None:
    pool = ClientPool()
    first = connection(transport="test-scripted")
    client = pool.get(first)
    assert pool.get(first) is client
    assert pool.get(connection("fab-2", transport="test-scripted")) is not client
    assert len(pool) == 2
    pool.drop(first)
    assert len(pool) == 1
    assert isinstance(client.transport, Scripted) and client.transport.closed
    assert pool.get(first) is not client


def test_unknown_transport_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"^hyperv fabric 'fab-1': unknown transport 'x'"):
        client_for(connection(transport="x"))
