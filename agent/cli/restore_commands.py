"""`cnaps restore` and `cnaps eval-restore`: MIMO-UNet restoration of image files from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
WEIGHTS_HELP = "Weights preset (cnaps-lite, official-gopro, official-plus-gopro, official-plus-realblur) or file."
TILE_HELP = "Tile size in pixels (default: chosen from image size and free memory; 0: never tile)."


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
    out: Path = typer.Option(..., "--out", help="Folder for the restored images (same file names and formats)."),
    weights: str | None = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    tile: int | None = typer.Option(None, "--tile", min=0, help=TILE_HELP),
    compare: bool = typer.Option(False, "--compare", help="Also write <name>.compare.png, before | after."),
    reference: Path | None = typer.Option(None, "--reference", help="Sharp image (or folder of same-named ones): "
                                                                     "adds PSNR and SSIM."),
) -> None:
    """Deblur images with MIMO-UNet; one failing image does not stop the others."""
    from tools.presets import resolve_weights

    images = collect_images(inputs)
    if not images:
        raise typer.BadParameter("no image files found", param_hint="INPUTS")
    resolve_weights(weights)  # a missing preset file fails once, before any image
    outcomes = _restore_all(images, out, weights, tile, compare, reference)
    _print_summary(outcomes)
    if any(isinstance(outcome, str) for _, outcome in outcomes):
        raise typer.Exit(1)


def _restore_all(images: list[Path], out: Path, weights: str | None, tile: int | None, compare: bool,
                 reference: Path | None) -> list[tuple[Path, object]]:
    """(image, RestorationResult or error message) for every image, with progress bars over images and tiles."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.errors import USER_ERRORS
    from tools.errors import RestorationError
    from tools.restore import restore_file

    outcomes: list[tuple[Path, object]] = []
    written: set[str] = set()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        overall = progress.add_task("images", total=len(images))
        tiles = progress.add_task("tiles", total=1)
        for image in images:
            progress.update(tiles, description=f"tiles of {image.name}", completed=0, total=1)
            try:
                if image.name in written:
                    raise RestorationError(f"another input named {image.name} was already written to {out}")
                result = restore_file(image, out, preset=weights, tile=tile, compare=compare,
                                      reference=_reference_for(image, reference, len(images)),
                                      progress=lambda done, total: progress.update(tiles, completed=done, total=total))
                written.add(image.name)
                outcomes.append((image, result))
            except USER_ERRORS as error:
                outcomes.append((image, str(error)))
            progress.advance(overall)
    return outcomes


def _print_summary(outcomes: list[tuple[Path, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    # The file name is what a reader scans for; the result column carries the full paths.
    table = Table(title="restoration summary")
    for column in ("image", "preset", "seconds", "sharpness before -> after", "PSNR / SSIM", "result"):
        table.add_column(column, overflow="fold")
    for image, outcome in outcomes:
        if isinstance(outcome, str):
            table.add_row(image.name, "", "", "", "", f"[red]failed: {outcome}")
            continue
        metrics = f"{outcome.psnr:.2f} dB / {outcome.ssim:.4f}" if outcome.psnr is not None else "-"
        notes = "".join(f"\nnote: {note}" for note in outcome.notes)
        table.add_row(image.name, outcome.preset, f"{outcome.seconds:.1f}",
                      f"{outcome.sharpness_before:.1f} -> {outcome.sharpness_after:.1f}", metrics,
                      f"wrote {outcome.output_path}{notes}")
    Console(stderr=False, width=160).print(table)


@app.command("eval-restore")
def eval_restore(
    blur_dir: Path = typer.Argument(..., help="Folder of blurry images."),
    sharp_dir: Path = typer.Argument(..., help="Folder of the sharp images, with the same file names."),
    weights: str | None = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    tile: int | None = typer.Option(None, "--tile", min=0, help=TILE_HELP),
    out: Path | None = typer.Option(None, "--out", help="Keep the restored images here (default: discarded)."),
) -> None:
    """PSNR and SSIM of blurry and restored images against their sharp originals, per image and on average."""
    import tempfile

    from tools.evaluation import evaluate_pairs
    from tools.metrics import reference_pair_names
    from tools.presets import resolve_weights

    pairs = reference_pair_names(blur_dir, sharp_dir)
    resolve_weights(weights)
    with tempfile.TemporaryDirectory(prefix="cnaps-eval-") as scratch:
        report = evaluate_pairs(pairs, out or Path(scratch), preset=weights, tile=tile)
    _print_evaluation(report)


def _print_evaluation(report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"restoration quality ({report.preset})")
    for column in ("image", "PSNR in -> out (dB)", "SSIM in -> out", "seconds"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(row.name, f"{row.psnr_input:.2f} -> {row.psnr_output:.2f}",
                      f"{row.ssim_input:.4f} -> {row.ssim_output:.4f}", f"{row.seconds:.1f}")
    table.add_row("[bold]mean", f"{report.mean('psnr_input'):.2f} -> {report.mean('psnr_output'):.2f}",
                  f"{report.mean('ssim_input'):.4f} -> {report.mean('ssim_output'):.4f}",
                  f"{report.mean('seconds'):.1f}")
    Console(width=160).print(table)
