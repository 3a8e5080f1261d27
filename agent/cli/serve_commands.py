"""`cnaps chat`, `cnaps serve` and `cnaps report`: the chat page, the HTTP API and HTML/PDF reports."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.app import app
from agent.cli.engine_options import ADDRESS, ENGINE, FORCE, WORKERS
from agent.cli.options import BF16, DEVICE, TILE, WEIGHTS, Device, bf16_choice


@app.command()
def chat(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    share: bool = typer.Option(False, "--share", help="Also publish the page through a temporary public "
                                                      "gradio.live link (needs internet)."),
) -> None:
    """Serve the chat web page: ask with an image, get the grounded answer and the restored image."""
    import signal

    from agent.web.chat import launch_chat

    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    launch_chat(host, port, share=share)


def _stop_like_ctrl_c(signum, frame) -> None:
    """SIGTERM stops the page as Ctrl+C does, so its working folders are removed on the way out."""
    raise KeyboardInterrupt


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=16, help="Answers restored at the same time."),
    queue: int = typer.Option(16, "--queue", min=0, max=1000, help="Requests that may wait for a worker."),
    max_pixels: int = typer.Option(12_000_000, "--max-pixels", min=1, help="Largest image accepted, in pixels."),
    body_timeout: float = typer.Option(60.0, "--body-timeout", min=0.1, help="Seconds a client has to send its "
                                                                             "whole request body (else 408)."),
) -> None:
    """Serve the HTTP API: POST /v1/answers, GET /v1/images/{id}, GET /healthz, docs at /docs."""
    from agent.web.api import ApiConfig, serve as run_server
    from agent.web.limits import UploadLimits

    run_server(host, port, ApiConfig(workers=workers, queue_size=queue,
                                     limits=UploadLimits(max_image_pixels=max_pixels, body_timeout_s=body_timeout)))


@app.command()
def report(
    bundles: list[Path] = typer.Argument(..., help="Bundle documents, one report section each."),
    images: list[Path] = typer.Option([], "--images", help="Images, paired with the bundles in order (repeatable)."),
    references: list[Path] = typer.Option([], "--references",
                                          help="Sharp references, paired with the images in order, for PSNR."),
    out: Path = typer.Option(..., "--out", help="The HTML report to write (images embedded)."),
    pdf: Path | None = typer.Option(None, "--pdf", help="Also write the report as PDF."),
    backend: str = typer.Option("", "--backend", help="offline, openai or local (default: $CNAPS_BACKEND, else "
                                                     "offline)."),
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
    force: bool = FORCE,
    weights: str | None = WEIGHTS,
    tile: int | None = TILE,
    device: Device = DEVICE,
    bf16: bool = BF16,
) -> None:
    """Answer every bundle (restoring its image) and write one self-contained HTML report, and a PDF if asked.

    The sections are kept in <report stem>.sections/ beside the report: a re-run answers only what changed.
    """
    from agent.report import ReportJob, build_report, write_report
    from agent.web.answer import check_backend_name, default_backend_name
    from tools.presets import resolve_weights
    from tools.restore import resolve_device

    from tools.files import check_output_file

    backend = check_backend_name(backend or default_backend_name())
    check_output_file(out, "--out")  # before any answer is computed
    if pdf is not None:
        check_output_file(pdf, "--pdf")
    if weights is not None:
        resolve_weights(weights)  # a missing weights file or GPU fails once, before any section
    resolve_device(device.value)
    try:
        jobs = ReportJob.pair(bundles, images, references, weights=weights, tile=tile, device=device.value,
                              bf16=bf16_choice(bf16))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--images/--references") from None
    from agent.engine import open_engine
    from agent.engine.report_job import sections_folder

    with open_engine(engine, address, workers) as runner:
        result = build_report(jobs, backend, runner, sections_folder(out), force=force)
    write_report(result, out, pdf)
    failed = sum(1 for section in result.sections if section.error)
    typer.echo(f"wrote {out}" + (f" and {pdf}" if pdf else "") +
               f": {len(result.sections)} sections, {failed} failed")
    if failed:
        raise typer.Exit(1)  # like `cnaps batch`: the report is complete, but scripts must see the failure
