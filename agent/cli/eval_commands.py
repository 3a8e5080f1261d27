"""`cnaps eval-answers`: answer labelled bundles and score the answers against the repository's thresholds."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app
from agent.cli.options import JSON

#: How many failing bundles are listed per metric in the table output (all of them are in --json).
LISTED_FAILURES = 25


@app.command("eval-answers")
def eval_answers(
    folder: Path = typer.Argument(..., help="Folder of bundles (NAME.txt|.yaml|.json|.md), each with NAME.labels.yaml "
                                            "beside it, and thresholds.yaml."),
    as_json: bool = JSON,
    thresholds: Path | None = typer.Option(None, "--thresholds", help="Thresholds file (default: "
                                                                      "FOLDER/thresholds.yaml when it exists)."),
    backend: str = typer.Option("offline", "--backend", help="Backend that answers: offline (default), openai or "
                                                            "local."),
    out: Path | None = typer.Option(None, "--out", help="Also write each bundle's answer.md and answer.json into "
                                                        "OUT/NAME/."),
) -> None:
    """Answer every labelled bundle in-process (no image), print per-metric scores and the failing bundles with a
    reason, and exit 1 when a metric is under its threshold."""
    from agent.backends import get_backend
    from agent.evaluation.harness import evaluate_folder

    report = evaluate_folder(folder, get_backend(backend), thresholds)
    if out is not None:
        _write_answers(report, out)
    if as_json:
        typer.echo(report.to_json(), nl=False)
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _write_answers(report, out: Path) -> None:
    from agent.cli.answer_commands import write_answer

    for result in report.results:
        if result.answer is not None:
            write_answer(result.answer, out / result.name)


def _print_report(report) -> None:
    """The scores as a table, then per failing metric the bundles and why."""
    from rich.markup import escape
    from rich.table import Table

    from agent.cli.console import table_console

    console = table_console()
    count = len(report.results)
    table = Table(title=f"cnaps eval-answers: {count} bundle{'s' if count != 1 else ''}")
    for column in ("metric", "score", "cases", "threshold", "status"):
        table.add_column(column, overflow="fold")
    for metric in report.scores:
        value = "n/a" if metric.value is None else f"{metric.value:.0f}" if metric.is_count else f"{metric.value:.3f}"
        status = ("[green]ok[/]" if metric.ok else "[red]FAIL[/]") if metric.threshold_text() else "reported"
        table.add_row(metric.label, value, str(metric.cases), metric.threshold_text(), status)
    console.print(table)
    for metric in report.scores:
        if not metric.failures:
            continue
        header = "[yellow]failed cases of[/]" if metric.ok else "[red]failing[/]"
        console.print(f"\n{header} {metric.label} ({len(metric.failures)}):")
        for failure in metric.failures[:LISTED_FAILURES]:
            console.print(f"  {escape(failure.bundle)}: {escape(failure.reason)}", highlight=False, soft_wrap=True)
        if len(metric.failures) > LISTED_FAILURES:
            console.print(f"  … and {len(metric.failures) - LISTED_FAILURES} more (all in --json)")
    console.print("\n" + ("[green]all thresholds met[/]" if report.ok else "[red]some metrics are under their "
                                                                             "thresholds[/]"))
