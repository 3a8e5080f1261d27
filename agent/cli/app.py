"""The `cnaps` typer application and its entry point, which turns user errors into one-line messages."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    name="cnaps",
    help="Grounded answers to CNAPS-style image questions, with real MIMO-UNet restoration. Works offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"cnaps-agent {version('cnaps-agent')}")
        except PackageNotFoundError:
            typer.echo("cnaps-agent (not installed as a package)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
) -> None:
    """Grounded answers to CNAPS-style image questions, with real MIMO-UNet restoration. Works offline."""


def user_error_types() -> tuple[type[Exception], ...]:
    """Exception types that mean the user gave bad input (printed without a traceback)."""
    from agent.errors import USER_ERRORS

    return USER_ERRORS


def main() -> None:
    """Run the CLI; a user error prints ``error: ...`` on stderr and exits 1."""
    from agent.cli import commands  # noqa: F401  (registers every command on ``app``)

    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of raising it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001
        import click
        from typer._click import exceptions as vendored_click  # typer 0.29 vendors click: its errors are not click's

        if isinstance(error, (click.ClickException, vendored_click.ClickException)):
            error.show()
            sys.exit(error.exit_code)
        if isinstance(error, user_error_types()):
            typer.echo(f"error: {error}", err=True)
            sys.exit(1)
        raise
