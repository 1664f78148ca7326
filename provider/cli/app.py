"""The ``srp`` application: global options, sub-commands, and error reporting.

Every failure ends in one line on stderr and a documented exit code
(:mod:`provider.cli.exitcodes`); a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Annotated

import click
import typer

from provider import __version__
from provider.cli import exitcodes, output
from provider.cli.demo_cmd import demo
from provider.cli.fabric_cmd import fabric_app, machine_app
from provider.cli.failover_cmd import failover_app
from provider.cli.job_cmd import job_app
from provider.cli.lab_cmd import lab_app
from provider.cli.mapping_cmd import mapping_app
from provider.cli.plan_cmd import plan_app
from provider.cli.plugins_cmd import plugins_app
from provider.cli.policy_cmd import policy_app
from provider.cli.protect_cmd import disable, protect
from provider.cli.register_cmd import refresh, register, unregister
from provider.cli.serve_cmd import serve
from provider.cli.status_cmd import points, status
from provider.cli.target_cmd import target_app
from provider.cli.vault_cmd import vault_app
from provider.errors import SrpError

app = typer.Typer(
    name="srp",
    help="srp: an open, pluggable disaster-recovery orchestrator for virtual machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(vault_app, name="vault")
app.add_typer(plugins_app, name="plugins")
app.add_typer(lab_app, name="lab")
app.command("demo")(demo)
# The provider service and the commands that are its clients.
app.command("serve")(serve)
app.command("register")(register)
app.command("unregister")(unregister)
app.command("refresh")(refresh)
app.command("protect")(protect)
app.command("disable")(disable)
app.command("status")(status)
app.command("points")(points)
app.add_typer(fabric_app, name="fabric")
app.add_typer(machine_app, name="machine")
app.add_typer(policy_app, name="policy")
app.add_typer(target_app, name="target")
app.add_typer(mapping_app, name="mapping")
app.add_typer(failover_app, name="failover")
app.add_typer(job_app, name="job")
app.add_typer(plan_app, name="plan")


def _show_version(value: bool) -> None:
    if value:
        print(f"srp {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    """Global options."""
    ctx.obj = {"debug": debug}
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising (for tests and the script)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = app(args=argv, prog_name="srp", standalone_mode=False)
    except SrpError as exc:
        return _fail(str(exc), exitcodes.exit_code_for(exc), debug)
    except (typer.Exit, click.exceptions.Exit) as exc:
        return int(exc.exit_code)
    except (typer.Abort, click.exceptions.Abort):
        return _fail("aborted", exitcodes.USAGE, debug)
    except (typer.TyperException, click.ClickException) as exc:
        # Typer vendors click: its usage errors are TyperExceptions with show().
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", exitcodes.USAGE))
    except Exception as exc:  # the last resort names the bug instead of a traceback
        return _fail(f"internal error: {type(exc).__name__}: {exc}", exitcodes.INTERNAL, debug)
    return result if isinstance(result, int) else exitcodes.OK


def _fail(message: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    output.error(message)
    return code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
