"""The fake PowerShell: quoting, injection, refused constructs, PS 5.1 JSON, CLIXML errors."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from fakes.hyperv import HyperVHost, HyperVLab, VMState
from fakes.hyperv.enums import ReplicationState
from fakes.hyperv.powershell import ast
from fakes.hyperv.powershell.errors import PSError
from fakes.hyperv.powershell.lexer import Kind, tokenize
from fakes.hyperv.powershell.output import convert_to_json, json_string, wrap_line
from fakes.hyperv.powershell.parser import parse
from fakes.hyperv.powershell.values import Hashtable, PSObject
from tests.fakes.hyperv.hvfake_testkit import Runner

# -- quoting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'plain'", "plain"),
        ("'it''s'", "it's"),
        ("'a\u2019\u2019b'", "a\u2019b"),
        ("'a\u2018\u2018b'", "a\u2018b"),
        ("'a\u201a\u201ab'", "a\u201ab"),
        ("'a\u201b\u201bb'", "a\u201bb"),
        # Any single-quote mark opens and closes; a doubled pair keeps the second one.
        ("\u2018curly\u2019", "curly"),
        ("'mixed'\u2019end'", "mixed\u2019end"),
        ("'$(Remove-VM *); `n \"x\" $env:TEMP'", '$(Remove-VM *); `n "x" $env:TEMP'),
        ("'line1\nline2'", "line1\nline2"),
        ("'caf\u00e9 \u65e5\u672c'", "caf\u00e9 \u65e5\u672c"),
        ("''", ""),
    ],
)
def test_single_quoted_strings_are_literal(source: str, value: str) -> None:
    tokens = tokenize(source)
    assert [token.kind for token in tokens] == [Kind.STRING, Kind.EOF]
    assert tokens[0].value == value


def test_quoted_injection_is_just_a_name(hv01: HyperVHost) -> None:
    name = "x'; Remove-VM -Name * -Force; 'y"
    hv01.create_vm(name)
    hv01.create_vm("victim")
    quoted = "'" + name.replace("'", "''") + "'"
    result = hv01.run_script(f"Get-VM -Name {quoted} | Select-Object Name")
    assert result.exit_code == 0
    assert hv01.commands_run() == ["Get-VM", "Select-Object"]
    assert [vm.name for vm in hv01.vms] == [name, "victim"]


def test_unquoted_injection_parses_as_the_statements_it_is(hv01: HyperVHost) -> None:
    hv01.create_vm("victim")
    result = hv01.run_script("Get-VM -Name x; Remove-VM -Name * -Force")
    assert hv01.commands_run() == ["Get-VM", "Remove-VM"]
    assert hv01.vms == []
    assert result.exit_code == 0


def test_unquoted_quote_in_a_word_is_an_unterminated_string(hv01: HyperVHost) -> None:
    result = hv01.run_script("Get-VM -Name x'; Remove-VM *")
    assert result.exit_code == 1
    assert hv01.command_log == []
    stderr = result.stderr.decode("cp437")
    assert stderr == (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<S S="Error">At line:1 char:15_x000D__x000A_</S>'
        '<S S="Error">+ Get-VM -Name x\'; Remove-VM *_x000D__x000A_</S>'
        '<S S="Error">+               ~~~~~~~~~~~~~~_x000D__x000A_</S>'
        '<S S="Error">The string is missing the terminator: \'._x000D__x000A_</S>'
        '<S S="Error">    + CategoryInfo          : ParserError: (:) [], '
        "ParentContainsErrorRecordException_x000D__x000A_</S>"
        '<S S="Error">    + FullyQualifiedErrorId : TerminatorExpectedAtEndOfString'
        "_x000D__x000A_</S>"
        '<S S="Error"> _x000D__x000A_</S></Objs>'
    )


@pytest.mark.parametrize(
    ("script", "construct"),
    [
        ('Get-VM -Name "x"', "expandable (double-quoted) strings"),
        ("Get-VM -Name $(Get-Date)", "the subexpression operator $(...)"),
        ("Get-VM -Name a$b", "variables inside a bare word"),
        ("$x = $(Get-VM)", "the subexpression operator $(...)"),
        ("Get-VM @params", "splatting (@variable)"),
        ("Get-VM > out.txt", "redirection"),
        ("& Get-VM", "the call operator '&'"),
        ("foreach ($vm in 1) { }", "the 'foreach' keyword"),
        ("if ($true) { Get-VM }", "the 'if' keyword"),
        ("Get-VM | % { $_ }", "the ForEach-Object alias '%'"),
        ("$a = 1 + 2", "arithmetic operators"),
        ("$a = $b -like 'x*'", "the '-like' operator"),
        ("$a = ${weird name}", "braced variable names ${...}"),
        ("$a = $env:TEMP", "scoped or drive-qualified variables"),
        ("Get-VM -Name 'a'b", "a quoted string glued to other text"),
        ("Get-VM || Get-VM", "the pipeline chain operator '||'"),
    ],
)
def test_constructs_outside_the_contract_are_refused_loudly(
    ps: Runner, hv01: HyperVHost, script: str, construct: str
) -> None:
    result = hv01.run_script(script)
    assert result.exit_code == 1
    assert hv01.command_log == []
    lines = ps.lines(result)
    assert lines[3] == f"The srp fake PowerShell does not support {construct}."
    assert lines[5] == "    + FullyQualifiedErrorId : SrpFakeUnsupportedConstruct"


def test_unknown_method_and_type_are_refused(ps: Runner, hv01: HyperVHost) -> None:
    result = hv01.run_script("$x = [IO.File]::ReadAllText('C:\\secret')")
    lines = ps.lines(result)
    assert result.exit_code == 1
    assert (
        lines[0]
        == "The srp fake PowerShell does not support the static method [IO.File]::ReadAllText()."
    )
    result = hv01.run_script("$s = 'a'\n$x = $s.Replace('a', 'b')")
    assert ps.lines(result)[0] == (
        "Method invocation failed because [System.String] does not contain a method named "
        "'Replace'."
    )


def test_parser_builds_the_contract_shapes() -> None:
    tree = parse("$r = @(Get-VM | Select-Object Name, @{n='Id';e={[string]$_.Id}})")
    (statement,) = tree.statements
    assert isinstance(statement, ast.Assignment)
    array = statement.value
    assert isinstance(array, ast.ArrayExpression)
    (pipeline,) = array.statements
    assert isinstance(pipeline, ast.Pipeline)
    get_vm, select = pipeline.elements
    assert isinstance(get_vm, ast.Command) and get_vm.name == "Get-VM"
    assert isinstance(select, ast.Command) and select.name == "Select-Object"
    (properties,) = select.elements
    assert isinstance(properties, ast.ArrayLiteral)
    name, table = properties.items
    assert name == ast.BareWord(30, 34, "Name")
    assert isinstance(table, ast.HashtableLiteral)
    assert [key for key, _ in table.entries] == ["n", "e"]
    block = table.entries[1][1]
    assert isinstance(block, ast.ScriptBlock)
    assert block.text == "[string]$_.Id"


def test_duplicate_hash_keys_are_a_parser_error() -> None:
    with pytest.raises(PSError) as caught:
        parse("$r = @{ a = 1; A = 2 }")
    assert caught.value.record.message == "Duplicate keys 'A' are not allowed in hash literals."
    assert caught.value.record.error_id == "DuplicateKeyInHashLiteral"


def test_expressions_only_first_in_a_pipeline() -> None:
    with pytest.raises(PSError) as caught:
        parse("Get-VM | 'x'")
    assert caught.value.record.message == (
        "Expressions are only allowed as the first element of a pipeline."
    )


# -- JSON as Windows PowerShell 5.1 writes it ----------------------------------------------------


def test_enums_are_integers_unless_stringified(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("vm1", running=True)
    text = ps.json_text(
        "Get-VM | Select-Object Name, State, @{n='Text';e={[string]$_.State}}, ReplicationMode"
    )
    assert text == '[{"Name":"vm1","State":2,"Text":"Running","ReplicationMode":0}]'


def test_one_object_zero_objects_and_arrays(ps: Runner, hv01: HyperVHost) -> None:
    assert ps.json_text("Get-VM | Select-Object Name") == "[]"
    hv01.create_vm("a")
    assert ps.json_text("Get-VM | Select-Object Name") == '[{"Name":"a"}]'
    hv01.create_vm("b")
    assert ps.json_text("Get-VM | Select-Object Name") == '[{"Name":"a"},{"Name":"b"}]'
    assert ps.json_text("$null") == "[null]"
    assert ps.json_text("@()") == "[]"
    assert ps.json_text("'a','b'") == '["a","b"]'


def test_hashtable_of_variables_keeps_empty_arrays(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("a", running=True)
    body = "@{ vms = $vms; none = $none; n = 4; t = $true }"
    script = (
        "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"
        "$vms = @(Get-VM | Select-Object Name)\n"
        "$none = @(Get-VM | Where-Object { $_.Name -eq 'zzz' })\n"
        f"$result = {body}\n"
        "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
        "(ConvertTo-Json -InputObject @($result) -Depth 4 -Compress)))\n"
    )
    result = hv01.run_script(script)
    assert result.exit_code == 0
    decoded = base64.b64decode(result.stdout.strip()).decode()
    assert decoded == '[{"vms":[{"Name":"a"}],"none":[],"n":4,"t":true}]'
    assert result.stdout.endswith(b"\r\n")


def test_dates_guids_and_escapes() -> None:
    moment = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    value = PSObject(
        "T",
        {
            "When": moment,
            "Id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "Text": "a'b<c>&d\"e\\f\n\u00e9\u0001",
            "None": None,
        },
    )
    assert convert_to_json(value, 2) == (
        '{"When":"\\/Date(1700000000000)\\/",'
        '"Id":"12345678-1234-5678-1234-567812345678",'
        '"Text":"a\\u0027b\\u003cc\\u003e\\u0026d\\"e\\\\f\\n\u00e9\\u0001",'
        '"None":null}'
    )


def test_depth_limit_turns_deep_objects_into_text() -> None:
    inner = Hashtable({"c": Hashtable({"d": 1})})
    value = Hashtable({"a": Hashtable({"b": inner}), "list": [[1, [2]]]})
    assert convert_to_json(value, 2) == (
        '{"a":{"b":{"c":"System.Collections.Hashtable"}},"list":[[1,[2]]]}'
    )
    custom = PSObject("System.Management.Automation.PSCustomObject", {"x": 1, "y": "z"})
    assert convert_to_json(Hashtable({"o": custom}), 0) == '{"o":"@{x=1; y=z}"}'


def test_json_string_matches_javascript_string_encode() -> None:
    assert json_string("\b\t\f\r\u001f") == '"\\b\\t\\f\\r\\u001f"'


def test_convert_to_json_needs_compress(ps: Runner, hv01: HyperVHost) -> None:
    result = hv01.run_script("ConvertTo-Json -InputObject 1")
    assert ps.lines(result)[0] == (
        "ConvertTo-Json : The srp fake PowerShell does not support ConvertTo-Json without "
        "-Compress (indented output)."
    )


# -- errors and streams ----------------------------------------------------------------


def test_cmdlet_error_is_the_real_clixml_record(hv01: HyperVHost) -> None:
    hv01.faults.startup_progress = False
    result = hv01.run_script("$ErrorActionPreference = 'Stop'\n$result = Get-VM -Name 'ghost'")
    assert result.exit_code == 1
    assert result.stdout == b""
    assert result.stderr.decode("cp437") == (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<S S="Error">Get-VM : Hyper-V was unable to find a virtual machine with name "ghost".'
        "_x000D__x000A_</S>"
        '<S S="Error">At line:2 char:11_x000D__x000A_</S>'
        "<S S=\"Error\">+ $result = Get-VM -Name 'ghost'_x000D__x000A_</S>"
        '<S S="Error">+           ~~~~~~~~~~~~~~~~~~~~_x000D__x000A_</S>'
        '<S S="Error">    + CategoryInfo          : InvalidArgument: (ghost:String) [Get-VM], '
        "VirtualizationException_x000D__x000A_</S>"
        '<S S="Error">    + FullyQualifiedErrorId : InvalidParameter,'
        "Microsoft.HyperV.PowerShell.Commands.GetVM_x000D__x000A_</S>"
        '<S S="Error"> _x000D__x000A_</S></Objs>'
    )


def test_progress_records_come_with_hyperv_cmdlets_even_on_success(hv01: HyperVHost) -> None:
    result = hv01.run_script("$ProgressPreference = 'SilentlyContinue'\n$x = Get-VMHost")
    assert result.exit_code == 0
    stderr = result.stderr.decode("cp437")
    assert stderr.startswith("#< CLIXML\r\n<Objs ")
    assert stderr.count('<Obj S="progress"') == 2
    assert "<AV>Preparing modules for first use.</AV>" in stderr
    assert hv01.run_script("$x = 1").stderr == b""


def test_not_a_hyperv_host(ps: Runner, hv01: HyperVHost) -> None:
    hv01.faults.not_hyperv = True
    result = ps.raw("Get-VMHost | Select-Object Name")
    assert result.exit_code == 1
    assert ps.lines(result) == [
        "Get-VMHost : The term 'Get-VMHost' is not recognized as the name of a cmdlet, "
        "function, script file, or operable ",
        "program. Check the spelling of the name, or if a path was included, verify that the "
        "path is correct and try again.",
        "At line:3 char:11",
        "+ $result = Get-VMHost | Select-Object Name",
        "+           ~~~~~~~~~~",
        "    + CategoryInfo          : ObjectNotFound: (Get-VMHost:String) [], "
        "CommandNotFoundException",
        "    + FullyQualifiedErrorId : CommandNotFoundException",
        " ",
    ]
    hv01.faults.not_hyperv = False
    assert ps.ok("Get-VMHost | Select-Object Name") == [{"Name": "hv01"}]


def test_wrapping_matches_a_real_windows_powershell_record(ps: Runner, hv01: HyperVHost) -> None:
    # The record pywinrm's own tests captured from a real host for ``fake cmdlet``.
    hv01.faults.startup_progress = False
    result = hv01.run_script("fake cmdlet")
    assert result.stderr.decode("cp437") == (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        "<S S=\"Error\">fake : The term 'fake' is not recognized as the name of a cmdlet, "
        "function, script file, or operable program. Check _x000D__x000A_</S>"
        '<S S="Error">the spelling of the name, or if a path was included, verify that the '
        "path is correct and try again._x000D__x000A_</S>"
        '<S S="Error">At line:1 char:1_x000D__x000A_</S>'
        '<S S="Error">+ fake cmdlet_x000D__x000A_</S>'
        '<S S="Error">+ ~~~~_x000D__x000A_</S>'
        '<S S="Error">    + CategoryInfo          : ObjectNotFound: (fake:String) [], '
        "CommandNotFoundException_x000D__x000A_</S>"
        '<S S="Error">    + FullyQualifiedErrorId : CommandNotFoundException_x000D__x000A_</S>'
        '<S S="Error"> _x000D__x000A_</S></Objs>'
    )


def test_wrap_keeps_trailing_spaces() -> None:
    line = "word " * 30
    pieces = wrap_line(line)
    assert "".join(pieces) == line
    assert [len(piece) for piece in pieces] == [115, 35]


def test_continue_preference_runs_the_next_statement(hv01: HyperVHost) -> None:
    hv01.create_vm("a")
    result = hv01.run_script("$x = Get-VM -Name 'nope'\nStop-VM -Name 'a' -Force")
    assert hv01.commands_run() == ["Get-VM", "Stop-VM"]
    assert result.exit_code == 0
    stop_first = hv01.run_script(
        "$ErrorActionPreference = 'Stop'\n$x = Get-VM -Name 'nope'\nGet-VM"
    )
    assert stop_first.exit_code == 1
    assert hv01.commands_run() == ["Get-VM", "Stop-VM", "Get-VM"]


def test_command_log_records_bound_parameters(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("a", running=True)
    ps.ok("Stop-VM -Name 'a' -TurnOff -Force")
    entry = hv01.command_log[0]
    assert entry.command == "Stop-VM"
    assert entry.parameters == (("Name", ["a"]), ("TurnOff", True), ("Force", True))
    assert entry.at == hv01.now()
    assert hv01.vm("a").state is VMState.Off


# -- parameter binding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Get-VM -Nmae 'x'",
            "Get-VM : A parameter cannot be found that matches parameter name 'Nmae'.",
        ),
        (
            "Stop-VM",
            "Stop-VM : Cannot process command because of one or more missing mandatory "
            "parameters: Name.",
        ),
        (
            "Stop-VM -Name 'a' -Force $true",
            "Stop-VM : A positional parameter cannot be found that accepts argument 'True'.",
        ),
        (
            "Get-VM -Name 'a' -Name 'b'",
            "Get-VM : Cannot bind parameter because parameter 'Name' is specified more than "
            "once. To provide multiple values to parameters that can accept multiple values, use "
            'the array syntax. For example, "-parameter value1,value2,value3".',
        ),
        (
            "Start-VMFailover -VMName 'a' -Prepare -AsTest",
            "Start-VMFailover : Parameter set cannot be resolved using the specified named "
            "parameters.",
        ),
        (
            "Set-VMReplicationServer -ReplicationEnabled 'yes'",
            "Set-VMReplicationServer : Cannot convert 'System.String' to the type "
            "'System.Boolean' required by parameter 'ReplicationEnabled'. Boolean parameters "
            "accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
        ),
        (
            "Get-SrpBlockDigests -CutId 'c' -VMId 'v' -DiskId 'd' -BlockSize 'big' "
            "-Offset 0 -Count 1",
            "Get-SrpBlockDigests : Cannot bind parameter 'BlockSize'. Cannot convert value "
            '"big" to type "System.Int32". Error: "Input string was not in a correct format."',
        ),
        (
            "Get-VM -Name",
            "Get-VM : Missing an argument for parameter 'Name'. Specify a parameter of type "
            "'System.String[]' and try again.",
        ),
        (
            "Stop-VM -F 'a' 'b'",
            "Stop-VM : A positional parameter cannot be found that accepts argument 'b'.",
        ),
    ],
)
def test_binding_errors_have_the_real_texts(
    ps: Runner, hv01: HyperVHost, body: str, message: str
) -> None:
    hv01.create_vm("a")
    assert ps.error(body) == message


def test_parameter_prefixes_aliases_and_colon_syntax(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("a", running=True)
    ps.ok("Stop-VM -N 'a' -TurnOff:$true -Fo")
    assert hv01.vm("a").state is VMState.Off
    assert ps.ok("Get-VM -VMName 'a' | Select-Object Name") == [{"Name": "a"}]
    assert ps.ok("Hyper-V\\Get-VM 'a' | Select-Object Name") == [{"Name": "a"}]


def test_where_object_and_comparisons(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("On1", running=True)
    hv01.create_vm("Off1")
    rows = ps.ok("Get-VM | Where-Object { $_.State -eq 'running' } | Select-Object Name")
    assert rows == [{"Name": "On1"}]
    rows = ps.ok(
        "Get-VM | Where-Object { $_.Name -ne 'ON1' -and $_.Generation -eq '2' } | "
        "Select-Object Name"
    )
    assert rows == [{"Name": "Off1"}]
    assert ps.ok("Get-VM | Where-Object { $_.Name -ceq 'on1' } | Select-Object Name") == []


def test_select_object_forms(ps: Runner, hv01: HyperVHost) -> None:
    vm = hv01.create_vm("a")
    rows = ps.ok(
        "Get-VM | Select-Object name, @{Label='G';Expression='Generation'}, "
        "@{n='Id';e={[string]$_.Id}}, Missing"
    )
    assert rows == [{"Name": "a", "G": 2, "Id": str(vm.id), "Missing": None}]
    assert ps.ok("Get-VM | Select-Object -ExpandProperty Name") == ["a"]
    assert ps.error("Get-VM | Select-Object @{x='G'}") == (
        "Select-Object : The x key is not valid."
    )


def test_replication_state_enum_compares_by_name(ps: Runner, hv01: HyperVHost) -> None:
    hv01.create_vm("a")
    rows = ps.ok(
        "Get-VM | Where-Object { $_.ReplicationState -eq 'Disabled' } | "
        "Select-Object @{n='S';e={$_.ReplicationState}}"
    )
    assert rows == [{"S": int(ReplicationState.Disabled)}]


def test_console_output_uses_code_page_437(hv01: HyperVHost, lab: HyperVLab) -> None:
    hv01.create_vm("caf\u00e9 \u65e5")
    result = hv01.run_script("Get-VM | Select-Object -ExpandProperty Name")
    assert result.stdout == b"caf\x82 ?\r\n"
