"""`cnaps weights`: list the restoration presets and download the official MIMO-UNet checkpoints."""

from __future__ import annotations

import typer

from agent.cli.app import app

weights_app = typer.Typer(help="Restoration weights: list the presets, download the official checkpoints.",
                          no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(weights_app, name="weights")


@weights_app.command("download")
def download(
    name: str = typer.Argument(..., help="Preset to download: official-gopro or official-plus-gopro."),
    url: str | None = typer.Option(None, "--url", help="Fetch from this scheme and host instead of Google Drive "
                                                       "(a mirror); default: $CNAPS_WEIGHTS_URL, else Google Drive."),
    force: bool = typer.Option(False, "--force", help="Download again even when the file is installed."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="Seconds to wait for the server."),
) -> None:
    """Fetch an official MIMO-UNet checkpoint from the official README's link, verify it loads, install it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from tools.download import download_preset

    with Progress(TextColumn(f"[bold]{name}"), BarColumn(), DownloadColumn(), transient=True) as bar:
        task = bar.add_task("download", total=None)
        weights = download_preset(name, base_url=url, timeout=timeout, force=force,
                                  progress=lambda done, total: bar.update(task, completed=done, total=total))
    how = "downloaded" if weights.fetched else "already installed"
    typer.echo(f"{how} {weights.path} ({weights.bytes / 2**20:.1f} MiB); it loads strictly as {weights.variant} "
               f"(num_res={weights.num_res}, width={weights.width}): preset {weights.preset} is ready "
               f"(cnaps restore --weights {weights.preset})")


@weights_app.command("list")
def list_presets() -> None:
    """Every preset, whether its file is installed, and where it is (or is expected)."""
    from tools.download import official_links
    from tools.presets import PRESETS

    downloadable = official_links()["presets"]
    for preset in PRESETS.values():
        state = "installed" if preset.installed() else (
            f"missing: cnaps weights download {preset.name}" if preset.name in downloadable else "missing")
        typer.echo(f"{preset.name:<24} {preset.description}; {state}; {preset.path()}")
