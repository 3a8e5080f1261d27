"""Reports (`cnaps report`): one section per question with answer, before/after images and metrics; HTML and PDF."""

from __future__ import annotations

import base64
import io
import time
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field

from agent.answer import GroundedAnswer

PREVIEW_SIDE = 960  # embedded previews are scaled to this long side so a report stays a few MiB


class ReportJob(BaseModel):
    """One report item: a bundle document, optionally an image to restore and a sharp reference for PSNR.

    ``weights``, ``tile``, ``device`` and ``bf16`` are the restoration settings (None: what the bundle and the
    machine call for), as the CLI's options of the same names.
    """

    bundle: Path
    image: Path | None = None
    reference: Path | None = None
    weights: str | None = None
    tile: int | None = None
    device: str | None = None
    bf16: bool | None = None

    @classmethod
    def pair(cls, bundles: list[Path], images: list[Path], references: list[Path], **settings) -> list[ReportJob]:
        """Pair images with bundles and references with images, in order; extra images or references are an error.

        ``settings`` (weights, tile, device, bf16) apply to every item.
        """
        if len(images) > len(bundles):
            raise ValueError(f"{len(images)} images for {len(bundles)} bundles; give at most one image per bundle")
        if len(references) > len(images):
            raise ValueError(f"{len(references)} references for {len(images)} images; "
                             "give at most one reference per image")
        return [cls(bundle=bundle,
                    image=images[index] if index < len(images) else None,
                    reference=references[index] if index < len(references) else None, **settings)
                for index, bundle in enumerate(bundles)]


class EmbeddedImage(BaseModel):
    """An image embedded in the report as a data URI, with its full size."""

    data_uri: str
    width: int
    height: int


class ReportSection(BaseModel):
    """One question's section: its answer and images, or what failed."""

    number: int
    bundle_name: str
    question: str | None = None
    answer: GroundedAnswer | None = None
    before: EmbeddedImage | None = None
    after: EmbeddedImage | None = None
    psnr_before: float | None = None
    psnr_after: float | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def anchor(self) -> str:
        """The HTML id of this section."""
        return f"q{self.number}"


class Report(BaseModel):
    """A whole report: every section and when and how it was made."""

    generated_at: str
    backend: str
    sections: list[ReportSection] = Field(default_factory=list)


def embed_image(path: Path) -> EmbeddedImage:
    """A PNG preview of ``path`` (long side at most PREVIEW_SIDE) as a data URI."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        preview = image.convert("RGB")
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG", optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return EmbeddedImage(data_uri=f"data:image/png;base64,{encoded}", width=width, height=height)


def psnr_against(path: Path, reference: Path) -> float:
    """PSNR in dB of ``path`` against a sharp ``reference`` of the same size (8-bit RGB)."""
    import numpy as np
    from PIL import Image

    from tools.metrics import psnr

    with Image.open(path) as image, Image.open(reference) as sharp:
        test, truth = np.asarray(image.convert("RGB")), np.asarray(sharp.convert("RGB"))
    if test.shape != truth.shape:
        raise ValueError(f"reference {reference.name} is {truth.shape[1]}x{truth.shape[0]} but the image is "
                         f"{test.shape[1]}x{test.shape[0]}; a reference must have the image's size")
    return psnr(truth.astype(np.float64) / 255.0, test.astype(np.float64) / 255.0)


def answer_section(number: int, job: ReportJob, backend: str, work_dir: Path) -> ReportSection:
    """Answer one job into a section; any failure becomes a section that says what failed."""
    from agent.web.answer import RestoreOptions, answer_bundle, without_server_paths
    from knowledge.parser import load_bundle

    section = ReportSection(number=number, bundle_name=job.bundle.name)
    started = time.perf_counter()
    try:
        bundle = load_bundle(job.bundle)
        section.question = bundle.question
        options = RestoreOptions(weights=job.weights, tile=job.tile, device=job.device, bf16=job.bf16)
        answer = answer_bundle(bundle, job.image, backend, work_dir / f"item{number}", options=options)
        if job.image is not None:
            section.before = embed_image(job.image)
        if answer.restoration is not None:
            output = Path(answer.restoration.output_path)
            section.after = embed_image(output)
            if job.reference is not None and job.image is not None:
                section.psnr_before = psnr_against(job.image, job.reference)
                section.psnr_after = psnr_against(output, job.reference)
            # The work folder goes when the report is written: name the restored image, which the report carries.
            answer = without_server_paths(answer, {output: output.name})
        section.answer = answer
    except Exception as error:  # noqa: BLE001 (one failing item must not lose the others)
        section.error = f"{type(error).__name__}: {error}"
    section.seconds = time.perf_counter() - started
    return section


def build_report(jobs: list[ReportJob], backend: str, engine=None, sections_dir: Path | None = None, *,
                 force: bool = False) -> Report:
    """Answer every job and gather the sections in order, on ``engine`` (default: this process).

    On the Ray engine the sections are answered as tasks, each in its own scratch folder; a section carries its
    images embedded, so the report is the same whichever engine made it.  With ``sections_dir`` the sections
    are kept there and a later call reuses those whose inputs and settings are unchanged (all are redone with
    ``force``); without it they are kept only for this call.
    """
    import tempfile

    from agent.engine.local import LocalEngine
    from agent.engine.report_job import report_sections

    report = Report(generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), backend=backend)
    if sections_dir is not None:
        report.sections = report_sections(engine or LocalEngine(), jobs, backend, Path(sections_dir), force=force)
        return report
    with tempfile.TemporaryDirectory(prefix="cnaps-report-") as scratch:
        report.sections = report_sections(engine or LocalEngine(), jobs, backend, Path(scratch), force=True)
    return report


def render_report_html(report: Report) -> str:
    """The self-contained HTML report (styles inline, images as data URIs)."""
    from agent.prompting import render_template

    return render_template("report.html.j2", report=report)


def write_report(report: Report, html_path: Path, pdf_path: Path | None = None) -> None:
    """Write the HTML report, and the PDF rendered from the same HTML when ``pdf_path`` is given, atomically."""
    from tools.files import atomic_write_bytes

    html = render_report_html(report)
    atomic_write_bytes(Path(html_path), html.encode("utf-8"))
    if pdf_path is not None:
        from weasyprint import HTML

        atomic_write_bytes(Path(pdf_path), HTML(string=html).write_pdf())
