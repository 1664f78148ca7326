"""The plugin guide's code is the example's code: every snippet must match its file.

A snippet is a fenced block right after ``<!-- snippet: PATH -->``; its text
must appear, line for line, in the file at PATH (relative to the repository).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugin-guide.md"
SNIPPET = re.compile(r"<!-- snippet: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)\n```", re.DOTALL)


def snippets() -> list[tuple[str, str]]:
    return [(m["path"], m["body"]) for m in SNIPPET.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_the_guide_pulls_in_the_example_and_links_the_hook_reference() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    paths = {path for path, _ in snippets()}
    assert len(snippets()) == text.count("<!-- snippet:") >= 9
    assert {
        "examples/srp-dirfabric/pyproject.toml",
        "examples/srp-dirfabric/srp_dirfabric/kinds.py",
        "examples/srp-dirfabric/srp_dirfabric/plugin.py",
        "examples/srp-dirfabric/tests/conftest.py",
    } <= paths
    assert "[`docs/plugin-hooks.md`](plugin-hooks.md)" in text


@pytest.mark.parametrize(("path", "body"), snippets(), ids=lambda value: str(value)[:60])
def test_each_snippet_matches_its_file(path: str, body: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert f"\n{body}\n" in f"\n{source}\n", f"the guide's snippet of {path} is out of date"
