"""`cnaps restore` and `cnaps eval-restore`: MIMO-UNet restoration of image files from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app
from agent.cli.engine_options import ADDRESS, ENGINE, FORCE, WORKERS
from agent.cli.options import (BF16, DEVICE, JSON, KEEP_OUTPUT, TILE, WEIGHTS, Device, bf16_choice, outcome_line,
                               print_json)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def collect_images(inputs: list[Path]) -> list[Path]:
    """Files as given plus the image files inside given folders (sorted, not recursive)."""
    images: list[Path] = []
    for item in inputs:
        if item.is_dir():
            images += sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            images.append(item)
    return images


def _reference_for(image: Path, reference: Path | None, count: int) -> Path | None:
    if reference is None:
        return None
    if reference.is_dir():
        return reference / image.name
    if count > 1:
        raise typer.BadParameter("with several inputs, --reference must be a folder of same-named sharp images",
                                 param_hint="--reference")
    return reference


@app.command()
def restore(
    inputs: list[Path] = typer.Argument(..., help="Image files or folders of images."),
    out: Path = typer.Option(..., "--out", help="Folder for the restored images (same file names and formats, "
                                                "plus --suffix)."),
    suffix: str = typer.Option("", "--suffix", help="Added to each restored file's stem, e.g. _restored "
                                                    "(default: none, so --out mirrors the inputs for eval-restore)."),
    weights: str | None = WEIGHTS,
    tile: int | None = TILE,
    device: Device = DEVICE,
    bf16: bool = BF16,
    compare: bool = typer.Option(False, "--compare", help="Also write <name>.compare.png, before | after."),
    reference: Path | None = typer.Option(None, "--reference", help="Sharp image (or folder of same-named ones): "
                                                                     "adds PSNR and SSIM."),
    keep_output: bool = KEEP_OUTPUT,
    as_json: bool = JSON,
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
    force: bool = FORCE,
) -> None:
    """Deblur images with MIMO-UNet; one failing image does not stop the others; a re-run skips finished ones."""
    images = collect_images(inputs)
    if not images:
        raise typer.BadParameter("no image files found", param_hint="INPUTS")
    if any(separator in suffix for separator in ("/", "\\", "\0")):
        raise typer.BadParameter("a suffix is added to file names; it cannot hold a path separator",
                                 param_hint="--suffix")
    refuse_outputs_on_inputs(images, out, suffix, compare)  # before the weights are even looked at
    from tools.presets import resolve_weights
    from tools.restore import resolve_device

    resolve_weights(weights)  # a missing preset file or GPU fails once, before any image
    resolve_device(device.value)
    settings = {"preset": weights, "tile": tile, "device": device.value, "bf16": bf16_choice(bf16),
                "keep_output": keep_output}
    outcomes = _restore_all(images, out, suffix, settings, compare, reference, (engine, address, workers), force)
    if as_json:
        print_json(restore_summary(outcomes))
    else:
        _print_summary(outcomes)
    if any(isinstance(outcome, str) for _, outcome in outcomes):
        raise typer.Exit(1)


def output_name(image: Path, suffix: str) -> str:
    """The restored file's name in --out: the input's own, with ``suffix`` added to its stem."""
    return f"{image.stem}{suffix}{image.suffix}" if suffix else image.name


def refuse_outputs_on_inputs(images: list[Path], out: Path, suffix: str, compare: bool = False) -> None:
    """Raise a one-line error, before any work, when ``out`` cannot take the outputs, when a restored file or its
    comparison would replace any of the inputs, or when two outputs of this run would have the same path."""
    from tools.errors import RestorationError
    from tools.files import check_output_folder, lands_on
    from tools.restore import comparison_path

    check_output_folder(out, "--out")
    inputs = {image.resolve(): image for image in images}
    planned: dict[Path, Path] = {}  # output -> the input it comes from
    for image in images:
        destination = out / output_name(image, suffix)
        for output in (destination, comparison_path(destination)) if compare else (destination,):
            replaced = inputs.get(output.resolve()) or (image if image.exists() and lands_on(output, image) else None)
            if replaced is not None:
                raise RestorationError(f"restoring {image} into {out} would overwrite the input {replaced}; choose "
                                       "another --out folder or add --suffix (e.g. --suffix _restored)")
            other = planned.setdefault(output.resolve(), image)
            if other != image:
                raise RestorationError(f"{other} and {image} would both be written to {output}; restore them into "
                                       "separate --out folders or rename one")


def _restore_all(images: list[Path], out: Path, suffix: str, settings: dict, compare: bool,
                 reference: Path | None, engine_choice: tuple, force: bool) -> list[tuple[Path, object]]:
    """(image, RestorationResult, AlreadyRestored or error message) for every image, on the chosen engine.

    ``engine_choice`` is (--engine, --address, --workers); the progress bars (images, and tiles on the local
    engine) and the manifest that makes a re-run skip finished images are the engine layer's.
    """
    from agent.engine import open_engine
    from agent.engine.restore_job import restore_many

    triples = [(image, output_name(image, suffix), _reference_for(image, reference, len(images))) for image in images]
    with open_engine(*engine_choice) as engine:
        return restore_many(engine, triples, out, settings, compare, force=force)


def restore_summary(outcomes: list[tuple[Path, object]]) -> dict:
    """The ``--json`` summary of a restore run: one record per image, the counts, and what would help.

    A record's ``status`` is its outcome (restored, unchanged or kept; see ``tools.restore.OUTCOMES``), or
    skipped or failed. The counts add up: processed = restored + unchanged + kept + failed, skipped aside.
    """
    from agent.engine.restore_job import AlreadyRestored
    from agent.restoration_outcome import advice_for, outcome_line

    records = []
    for image, outcome in outcomes:
        if isinstance(outcome, str):
            records.append({"input": str(image), "status": "failed", "error": outcome})
            continue
        if isinstance(outcome, AlreadyRestored):
            records.append({"input": str(image), "status": "skipped", "output": str(outcome.output_path)})
            continue
        records.append({"input": str(image), "status": outcome.outcome, "output": str(outcome.output_path),
                        "outcome_reason": outcome_line(outcome), "preset": outcome.preset,
                        "seconds": round(outcome.seconds, 3),
                        "sharpness_before": round(outcome.sharpness_before, 4),
                        "sharpness_after": round(outcome.sharpness_after, 4),
                        "sharpness_handed_back": round(outcome.sharpness_handed_back, 4), "psnr": outcome.psnr,
                        "ssim": outcome.ssim, "compare": str(outcome.compare_path) if outcome.compare_path else None,
                        "notes": list(outcome.notes), "applied": outcome.applied, "verdict": outcome.verdict,
                        "verdict_reason": outcome.verdict_reason, "blur_before": outcome.blur_before,
                        "blur_after": outcome.blur_after})
    counts = {status: sum(record["status"] == status for record in records)
              for status in ("restored", "unchanged", "kept", "skipped", "failed")}
    processed = len(records) - counts["skipped"]
    not_restored = [outcome for _, outcome in outcomes if getattr(outcome, "outcome", "restored") != "restored"]
    advice = advice_for(not_restored[0].preset, not_restored[0].outcome, len(not_restored) > 1) if not_restored else ""
    return {"images": records, "processed": processed, **counts, "advice": advice or None}


def _print_summary(outcomes: list[tuple[Path, object]]) -> None:
    from rich.table import Table

    from agent.cli.console import table_console
    from agent.engine.restore_job import AlreadyRestored

    # The file name is what a reader scans for; the result column carries the full paths.
    table = Table(title="restoration summary")
    for column in ("image", "preset", "seconds", "sharpness before -> handed back", "PSNR / SSIM", "result"):
        table.add_column(column, overflow="fold")
    for image, outcome in outcomes:
        if isinstance(outcome, str):
            table.add_row(image.name, "", "", "", "", f"[red]failed: {outcome}")
            continue
        if isinstance(outcome, AlreadyRestored):
            table.add_row(image.name, "", "", "", "", f"[yellow]skipped: {outcome.output_path} is already "
                                                      "restored with these settings (--force redoes it)")
            continue
        metrics = f"{outcome.psnr:.2f} dB / {outcome.ssim:.4f}" if outcome.psnr is not None else "-"
        notes = "".join(f"\nnote: {note}" for note in outcome.notes)
        # The sharpness of the file handed back; the network's own, when it was not handed back, in brackets.
        network = f" (output {outcome.sharpness_after:.1f})" if not outcome.applied else ""
        table.add_row(image.name, outcome.preset, f"{outcome.seconds:.1f}",
                      f"{outcome.sharpness_before:.1f} -> {outcome.sharpness_handed_back:.1f}{network}", metrics,
                      f"{_outcome_markup(outcome)}\nwrote {outcome.output_path}{notes}")
    console = table_console()
    console.print(table)
    summary = restore_summary(outcomes)
    console.print(summary_line(summary), markup=False, highlight=False)
    if summary["advice"]:
        console.print(summary["advice"], markup=False, highlight=False)


def summary_line(summary: dict) -> str:
    """The counts of a restore run in one line; they add up as in ``restore_summary``."""
    kept = f", {summary['kept']} kept on request" if summary["kept"] else ""
    return (f"{summary['processed']} processed: {summary['restored']} restored, {summary['unchanged']} returned "
            f"unchanged{kept}, {summary['failed']} failed; {summary['skipped']} skipped")


def _outcome_markup(outcome) -> str:
    """The outcome line, green when the output was restored (accepted by the check), yellow otherwise."""
    from rich.markup import escape

    colour = "green" if outcome.outcome == "restored" else "yellow"
    return f"[{colour}]{escape(outcome_line(outcome))}[/{colour}]"


@app.command("eval-restore")
def eval_restore(
    blur_dir: Path = typer.Argument(..., help="Folder of blurry images."),
    sharp_dir: Path = typer.Argument(..., help="Folder of the sharp images, with the same file names."),
    weights: str | None = WEIGHTS,
    tile: int | None = TILE,
    device: Device = DEVICE,
    bf16: bool = BF16,
    out: Path | None = typer.Option(None, "--out", help="Keep the restored images here (default: discarded)."),
    keep_output: bool = typer.Option(False, "--keep-output", help="Score the network's output even where the "
                                                                  "checks would hand back the input (default: "
                                                                  "score what cnaps restore hands back)."),
    as_json: bool = JSON,
) -> None:
    """PSNR and SSIM of blurry and restored images against their sharp originals, per image and on average."""
    import tempfile

    from tools.evaluation import evaluate_pairs
    from tools.metrics import reference_pair_names
    from tools.presets import resolve_weights
    from tools.restore import resolve_device

    pairs = reference_pair_names(blur_dir, sharp_dir)
    if out is not None:  # a restored file must replace neither its blurry input nor its sharp reference
        refuse_outputs_on_inputs([image for pair in pairs for image in pair], out, "")
    resolve_weights(weights)
    resolve_device(device.value)
    with tempfile.TemporaryDirectory(prefix="cnaps-eval-") as scratch:
        report = evaluate_pairs(pairs, out or Path(scratch), preset=weights, tile=tile, device=device.value,
                                bf16=bf16_choice(bf16), keep_output=keep_output)
    if as_json:
        print_json(evaluation_summary(report))
    else:
        _print_evaluation(report)


def evaluation_summary(report) -> dict:
    """The ``--json`` summary of eval-restore: the preset, one record per image, the means and the outcome counts."""
    from agent.restoration_outcome import advice_for, outcome_line

    fields = ("psnr_input", "psnr_output", "ssim_input", "ssim_output", "seconds")
    images = [{"name": row.name, **{field: round(getattr(row, field), 4) for field in fields},
               "outcome": row.outcome, "outcome_reason": outcome_line(row), "applied": row.applied,
               "verdict": row.verdict} for row in report.rows]
    counts = {outcome: sum(row.outcome == outcome for row in report.rows) for outcome in ("restored", "unchanged",
                                                                                          "kept")}
    not_restored = [row.outcome for row in report.rows if row.outcome != "restored"]
    advice = advice_for(report.preset, not_restored[0], len(not_restored) > 1) if not_restored else ""
    return {"preset": report.preset, "images": images,
            "mean": {field: round(report.mean(field), 4) for field in fields}, **counts, "advice": advice or None}


def _print_evaluation(report) -> None:
    from rich.table import Table

    from agent.cli.console import table_console
    from agent.restoration_outcome import OUTCOME_WORDS

    table = Table(title=f"restoration quality ({report.preset})")
    for column in ("image", "PSNR in -> out (dB)", "SSIM in -> out", "seconds", "outcome"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(row.name, f"{row.psnr_input:.2f} -> {row.psnr_output:.2f}",
                      f"{row.ssim_input:.4f} -> {row.ssim_output:.4f}", f"{row.seconds:.1f}",
                      OUTCOME_WORDS[row.outcome])
    summary = evaluation_summary(report)
    kept = f", {summary['kept']} kept" if summary["kept"] else ""
    table.add_row("[bold]mean", f"{report.mean('psnr_input'):.2f} -> {report.mean('psnr_output'):.2f}",
                  f"{report.mean('ssim_input'):.4f} -> {report.mean('ssim_output'):.4f}",
                  f"{report.mean('seconds'):.1f}", f"{summary['restored']} restored, {summary['unchanged']} "
                                                   f"unchanged{kept}")
    console = table_console()
    console.print(table)
    if summary["advice"]:
        console.print(summary["advice"], markup=False, highlight=False)
