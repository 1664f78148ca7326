"""docs/plugin-hooks.md matches provider/hookspecs.py, and every hook is fully typed."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from provider import hookdocs, hookspecs

SpecLoader = Callable[[str, str], ModuleType]
DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md"
STALE = f"docs/plugin-hooks.md is out of date; regenerate it with: {hookdocs.REGENERATE}"

FAULTY_SPECS = '''\
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("srp")


@hookspec
def srp_orphan(x: int) -> None:
    """Declared before any section comment."""


# ----------------------------------------------------------------
# Testing: dispatched by test kind.


@hookspec(firstresult=True)
def srp_sloppy(untyped, typed: str):
    pass


@hookspec
def lonely() -> None:
    """A hook without the project prefix."""
'''

SMALL_SPECS = '''\
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("srp")

# ----------------------------------------------------------------
# Greeting: called on every plugin,
# with a summary on two lines.


@hookspec
def srp_hello(name: str, times: int = 1) -> Sequence[str]:
    """Say hello.

    Called by the tests.

    :param name: who to greet,
        on two lines.
    :param times: how often.
    :returns: the greetings.
    """


def srp_not_a_spec() -> None:
    """A plain function: not in the reference."""


# ----------------------------------------------------------------
# Long: dispatched by kind.


@hookspec(firstresult=True)
def srp_long_one(
    first_parameter: FabricConnection, second_parameter: Sequence[tuple[int, int]]
) -> int | None:
    """One line.

    :returns: a number.
    """
'''

SMALL_REFERENCE = """\
## Hooks at a glance

| Hook | Family | Result |
| --- | --- | --- |
| [`srp_hello`](#srp_hello) | Greeting | all results |
| [`srp_long_one`](#srp_long_one) | Long | first result |

## Greeting

Called on every plugin, with a summary on two lines.

### `srp_hello`

```python
def srp_hello(name: str, times: int = 1) -> Sequence[str]
```

*All results:* every implementation is called; results are collected in a list.

Say hello.

Called by the tests.

- `name`: who to greet, on two lines.
- `times`: how often.

**Returns:** the greetings.

## Long

Dispatched by kind.

### `srp_long_one`

```python
def srp_long_one(
    first_parameter: FabricConnection,
    second_parameter: Sequence[tuple[int, int]],
) -> int | None
```

*First result:* the first non-None result wins.

One line.

**Returns:** a number.
"""


@pytest.fixture
def load_specs(tmp_path: Path) -> Iterator[SpecLoader]:
    """Import a specification module written to a file (inspect needs its source)."""
    names: list[str] = []

    def load(name: str, source: str) -> ModuleType:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


def documented_part() -> str:
    parts = hookdocs.split_document(DOC.read_text(encoding="utf-8"))
    assert parts is not None, f"docs/plugin-hooks.md lost its marker line. {STALE}"
    return parts[1]


def test_the_reference_is_the_generated_output() -> None:
    assert documented_part() == hookdocs.render(hookspecs), STALE


def test_every_hook_is_documented_with_its_signature() -> None:
    documented = documented_part()
    docs = hookdocs.hook_docs(hookspecs)
    assert {d.name for d in docs} == {n for n in vars(hookspecs) if n.startswith("srp_")}
    for doc in docs:
        assert f"### `{doc.name}`\n" in documented, f"{doc.name} is missing. {STALE}"
        block = f"```python\n{doc.signature}\n```"
        assert block in documented, f"{doc.name}'s signature differs. {STALE}"


def test_every_hook_has_a_docstring_a_return_annotation_and_typed_parameters() -> None:
    assert hookdocs.problems(hookspecs) == []


def test_problems_are_found_in_faulty_specifications(load_specs: SpecLoader) -> None:
    module = load_specs("srp_faulty_specs", FAULTY_SPECS)
    assert hookdocs.problems(module) == [
        "srp_orphan: not under a '# ----' family section comment",
        "srp_sloppy: parameter 'untyped' has no type annotation",
        "srp_sloppy: no return annotation",
        "srp_sloppy: no docstring",
        "lonely: hook names start with 'srp_'",
    ]


def test_render_is_exact_for_a_small_specification(load_specs: SpecLoader) -> None:
    module = load_specs("srp_small_specs", SMALL_SPECS)
    assert hookdocs.render(module) == SMALL_REFERENCE


def test_families_follow_the_section_comments() -> None:
    families = [d.family.title for d in hookdocs.hook_docs(hookspecs)]
    assert list(dict.fromkeys(families)) == [
        "Declaration",
        "Discovery",
        "Replica sync",
        "HRL transfer",
        "Failover",
        "Native replication",
        "Events",
    ]
    connect = next(d for d in hookdocs.hook_docs(hookspecs) if d.name == "srp_connect")
    assert connect.family == hookdocs.Family("Discovery", "Dispatched by fabric kind.")
    assert connect.firstresult
    assert connect.signature == "def srp_connect(connection: FabricConnection) -> FabricIdentity"


def test_write_keeps_the_introduction(tmp_path: Path) -> None:
    path = tmp_path / "hooks.md"
    path.write_text(f"# Intro\n\nHand-written.\n\n{hookdocs.MARKER}\n\nstale text\n")
    assert hookdocs.main(["--check", "--path", str(path)]) == 1
    assert hookdocs.main(["--write", "--path", str(path)]) == 0
    expected = f"# Intro\n\nHand-written.\n\n{hookdocs.MARKER}\n\n{hookdocs.render(hookspecs)}"
    assert path.read_text() == expected
    assert hookdocs.main(["--check", "--path", str(path)]) == 0


def test_check_names_the_regeneration_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hooks.md"
    path.write_text(f"# Intro\n\n{hookdocs.MARKER}\n\nstale\n")
    assert hookdocs.main(["--check", "--path", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path} is out of date; regenerate it with: python -m provider.hookdocs --write\n"
    )


def test_write_creates_a_missing_file_with_a_default_introduction(tmp_path: Path) -> None:
    path = tmp_path / "hooks.md"
    assert hookdocs.main(["--write", "--path", str(path)]) == 0
    assert path.read_text() == hookdocs.document("# srp plugin hooks\n", hookdocs.render())


def test_write_refuses_a_file_without_the_marker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hooks.md"
    path.write_text("# Only hand-written text\n")
    with pytest.raises(SystemExit) as caught:
        hookdocs.main(["--write", "--path", str(path)])
    assert caught.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"error: {path} has no marker line; refusing to overwrite hand-written text\n"
    )
    assert path.read_text() == "# Only hand-written text\n"


def test_default_prints_the_generated_part(capsys: pytest.CaptureFixture[str]) -> None:
    assert hookdocs.main([]) == 0
    assert capsys.readouterr().out == f"{hookdocs.MARKER}\n\n{hookdocs.render(hookspecs)}"
