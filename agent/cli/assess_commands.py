"""`cnaps assess BEFORE AFTER`: the acceptance check as a command, for comparing the outputs of any tool."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agent.cli.app import app
from agent.cli.options import JSON


@app.command()
def assess(
    before: Path = typer.Argument(..., help="The input image (e.g. the blurred photo)."),
    after: Path = typer.Argument(..., help="A restoration of it, by this tool or any other (same size)."),
    as_json: bool = JSON,
) -> None:
    """Judge whether AFTER is a clear improvement of BEFORE, with the check every interface of cnaps uses.

    Exits 0 whatever the verdict; non-zero only when an image cannot be read or the sizes differ.
    """
    from tools.quality import assessment_record

    record = assessment_record(before, after)
    if as_json:
        typer.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    from agent.prompting import render_template

    typer.echo(render_template("assess_verdict.txt.j2", record=record).rstrip("\n"))
