"""Output parsing: strict base64-JSON payloads, CLIXML errors through a hardened parser."""

from __future__ import annotations

import base64
import json

import pytest

from plugins.hyperv.output import (
    MAX_PAYLOAD_BYTES,
    OutputRefused,
    PowerShellError,
    decode_payload,
    parse_error,
    unescape,
)

NS = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"'
NOT_FOUND = (
    f'#< CLIXML\r\n<Objs Version="1.1.0.1" {NS}>'
    '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
    '</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules</AV>'
    "</PR></MS></Obj>"
    '<S S="Error">Get-VM : Hyper-V was unable to find a virtual machine with name_x000D__x000A_</S>'
    '<S S="Error">"x\u2019; \u6771"._x000D__x000A_</S>'
    '<S S="Error">At line:3 char:11_x000D__x000A_</S>'
    "<S S=\"Error\">+ $result = Get-VM -Name 'x'_x000D__x000A_</S>"
    '<S S="Error">    + CategoryInfo          : InvalidArgument: (x:String) [Get-VM], '
    "VirtualizationException_x000D__x000A_</S>"
    '<S S="Error">    + FullyQualifiedErrorId : InvalidParameter,'
    "Microsoft.HyperV.PowerShell.Commands.GetVM_x000D__x000A_</S>"
    '<S S="Error"> _x000D__x000A_</S></Objs>'
).encode()


def encode(value: object) -> bytes:
    return base64.b64encode(json.dumps(value).encode())


def test_payload_is_the_json_array() -> None:
    rows = [{"Name": "w\u2019eb\n$(x)", "Id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}]
    assert decode_payload(encode(rows) + b"\r\n") == rows
    assert decode_payload(b"W10=") == []


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (b"not base64!", "output is not base64 of UTF-8 text: "),
        (base64.b64encode(b"\xff\xfe"), "output is not base64 of UTF-8 text: "),
        (base64.b64encode(b"{"), "output is not valid JSON: "),
        (base64.b64encode(b'{"a": 1}'), "output JSON is a dict, expected an array"),
        (base64.b64encode(b"[NaN]"), "output JSON holds the non-standard constant NaN"),
        (base64.b64encode(b"[" * 100_000), "output is not valid JSON: "),
    ],
)
def test_bad_payloads_are_refused_with_a_clear_message(stdout: bytes, message: str) -> None:
    with pytest.raises(OutputRefused) as caught:
        decode_payload(stdout)
    assert str(caught.value).startswith(message)


def test_oversized_payload_is_refused_before_decoding() -> None:
    with pytest.raises(OutputRefused, match=f"over the {MAX_PAYLOAD_BYTES} limit"):
        decode_payload(b"A" * (MAX_PAYLOAD_BYTES + 4))


def test_clixml_error_record_ignores_progress_and_rejoins_the_message() -> None:
    error = parse_error(NOT_FOUND)
    assert error is not None
    assert error.message == (
        'Get-VM : Hyper-V was unable to find a virtual machine with name "x\u2019; \u6771".'
    )
    assert error.detail("CategoryInfo") == (
        "InvalidArgument: (x:String) [Get-VM], VirtualizationException"
    )
    assert error.detail("FullyQualifiedErrorId") == (
        "InvalidParameter,Microsoft.HyperV.PowerShell.Commands.GetVM"
    )
    assert error.detail("Nope") == ""
    assert len(error.lines) == 6


def test_progress_only_stderr_is_no_error() -> None:
    progress = NOT_FOUND.split(b'<S S="Error">')[0] + b"</Objs>"
    assert parse_error(progress) is None
    assert parse_error(b"") is None
    assert parse_error(b"  \r\n") is None


def test_plain_stderr_is_one_record() -> None:
    assert parse_error(b"boom\r\n\r\nsecond line\r\n") == PowerShellError(("boom", "second line"))


BILLION_LAUGHS = (
    b'#< CLIXML\r\n<?xml version="1.0"?><!DOCTYPE Objs [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<Objs Version="1.1.0.1"><S S="Error">&c;</S></Objs>'
)
EXTERNAL = (
    b'#< CLIXML\r\n<!doctype Objs [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<Objs><S S="Error">&x;</S></Objs>'
)


@pytest.mark.parametrize("stderr", [BILLION_LAUGHS, EXTERNAL])
def test_doctype_and_entities_are_refused(stderr: bytes) -> None:
    with pytest.raises(OutputRefused, match=r"^error output declares a DOCTYPE or an entity$"):
        parse_error(stderr)


def test_doctype_hidden_in_utf16_is_refused() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE Objs><Objs><S S="Error">x</S></Objs>'
    with pytest.raises(OutputRefused, match=r"^error output is not well-formed CLIXML: "):
        parse_error(b"#< CLIXML\r\n" + doc.encode("utf-16"))


def test_code_page_437_stderr_is_read() -> None:
    stderr = '#< CLIXML\r\n<Objs><S S="Error">Get-VM : caf\u00e9 ?_x000D__x000A_</S></Objs>'
    error = parse_error(stderr.encode("cp437"))
    assert error is not None and error.message == "Get-VM : caf\u00e9 ?"


def test_wrapped_pieces_keep_their_spaces() -> None:
    stderr = (
        "#< CLIXML\r\n<Objs><S S=\"Error\">Start-VM : 'web' failed to _x000D__x000A_</S>"
        '<S S="Error">start._x000D__x000A_</S><S S="Error">Reason two._x000D__x000A_</S>'
        '<S S="Error">At line:3 char:11_x000D__x000A_</S></Objs>'
    )
    error = parse_error(stderr.encode())
    assert error is not None
    assert error.message == "Start-VM : 'web' failed to start. Reason two."


def test_malformed_clixml_is_refused() -> None:
    with pytest.raises(OutputRefused, match=r"^error output is not well-formed CLIXML: "):
        parse_error(b"#< CLIXML\r\n<Objs><S S='Error'>x</Objs>")


def test_unescape_pairs_surrogates() -> None:
    assert unescape("a_x000D__x000A_b_xD83D__xDE00_") == "a\r\nb\U0001f600"
    assert unescape("plain") == "plain"
