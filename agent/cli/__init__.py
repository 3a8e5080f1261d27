"""The `cnaps` command line: one module per group of commands, registered on one typer app."""

from agent.cli.app import app, main

__all__ = ["app", "main"]
