"""Reports: HTML parsed and its links checked against the bundles, PDF text extracted, first page rendered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from agent.report import ReportJob, build_report, write_report
from knowledge.parser import load_bundle

FIXTURES = Path(__file__).parent / "fixtures"
#: A defocused Kodak crop the shipped weights restore (accepted by the check), and its sharp original.
BLURRY = FIXTURES / "defocused_kodim05_160.png"
SHARP = FIXTURES / "sharp" / "crop_kodim05.png"
SEED = FIXTURES / "bundles" / "seed.txt"
DASHCAM = FIXTURES / "bundles" / "ex_dashcam_frame.txt"
VIT_MASKS = FIXTURES / "bundles" / "ex_blocky_vit_masks.txt"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
HOSTILE_QUESTION = 'Why is my photo blurred? <script>alert("x")</script><img src="https://evil.example/p.png">'


class ReportParser(HTMLParser):
    """Collects the ids, links and image sources of each report section."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.section: str | None = None
        self.links: dict[str | None, list[str]] = {}
        self.images: dict[str | None, list[str]] = {}
        self.sections: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "section" and "question" in (attrs.get("class") or ""):
            self.section = attrs["id"]
            self.sections.append(attrs["id"])
        if tag == "a":
            self.links.setdefault(self.section, []).append(attrs["href"])
        if tag == "img":
            self.images.setdefault(self.section, []).append(attrs["src"])
        if tag in ("link", "script") or (tag == "img" and not attrs["src"].startswith("data:")):
            self.external.append(str(attrs))


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    return parser


def psnr(path: Path, reference: Path) -> float:
    """PSNR computed from its definition, to check the report's number independently."""
    test = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    truth = np.asarray(Image.open(reference).convert("RGB"), dtype=np.float64)
    return float(10 * np.log10(255.0 ** 2 / np.mean((test - truth) ** 2)))


@pytest.fixture(scope="module")
def made_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    broken = folder / "broken.txt"
    broken.write_text("this is not a question bundle\n", encoding="utf-8")
    hostile = folder / "hostile.yaml"
    hostile.write_text(f"question: {HOSTILE_QUESTION!r}\nrecommended:\n  - name: Deblur-MIMO-UNet-RealBlur\n"
                       "    paper: https://example.org/mimo.pdf\n", encoding="utf-8")
    jobs = [ReportJob(bundle=SEED, image=BLURRY, reference=SHARP), ReportJob(bundle=broken),
            ReportJob(bundle=VIT_MASKS, image=BLURRY), ReportJob(bundle=DASHCAM, image=folder / "missing.png"),
            ReportJob(bundle=hostile)]
    report = build_report(jobs, "offline")
    write_report(report, folder / "report.html", folder / "report.pdf")
    return report, folder


def test_every_question_gets_a_section_and_failures_say_what_failed(made_report):
    report, folder = made_report
    html = (folder / "report.html").read_text(encoding="utf-8")
    parsed = parse(html)
    assert parsed.sections == ["q1", "q2", "q3", "q4", "q5"]
    seed, broken, masks, dashcam, hostile = report.sections
    assert seed.error is None and seed.answer.grounded and seed.answer.restoration is not None
    assert masks.error is None and masks.answer.restoration is None
    assert broken.error.startswith("BundleError: ") and "broken.txt" in broken.error
    assert dashcam.error is not None and "missing.png" in dashcam.error
    assert "This item failed" in html and broken.error.split(": ", 1)[1] in html.replace("&#39;", "'")
    # Bundle text is escaped: the hostile question shows as text and adds no element.
    assert hostile.error is None and "&lt;script&gt;" in html and "<script" not in html
    assert "evil.example" not in "".join(parsed.images.get("q5", []))


def test_links_come_only_from_each_sections_bundle_and_anchors_resolve(made_report):
    report, folder = made_report
    parsed = parse((folder / "report.html").read_text(encoding="utf-8"))
    bundles = {"q1": SEED, "q3": VIT_MASKS, "q5": folder / "hostile.yaml"}
    for anchor, bundle_path in bundles.items():
        external = {link for link in parsed.links[anchor] if not link.startswith("#")}
        assert external and external <= load_bundle(bundle_path).allowed_links()
    # Contents, summary and citation links all point at ids that exist; outside sections there are no web links.
    internal = [link for links in parsed.links.values() for link in links if link.startswith("#")]
    assert internal and all(link[1:] in parsed.ids for link in internal)
    assert all(link.startswith("#") for link in parsed.links[None])


def test_the_html_is_self_contained_with_before_after_images_and_metrics(made_report):
    report, folder = made_report
    parsed = parse((folder / "report.html").read_text(encoding="utf-8"))
    assert parsed.external == []
    assert len(parsed.images["q1"]) == 2 and all(src.startswith("data:image/png;base64,") for src in parsed.images["q1"])
    assert len(parsed.images["q3"]) == 1  # an image without a MIMO-UNet model is shown, not restored
    seed = report.sections[0]
    assert seed.psnr_before == pytest.approx(psnr(BLURRY, SHARP), abs=1e-6)
    assert seed.psnr_after is not None and seed.psnr_after != seed.psnr_before
    # The work folder is gone; the report carries the image itself and names it without the folder.
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert seed.answer.restoration.output_path == f"{BLURRY.stem}_restored.png" and "cnaps-report-" not in html
    assert f"{seed.psnr_before:.2f} → {seed.psnr_after:.2f} dB" in html
    assert f"{seed.answer.restoration.sharpness_before:.2f} → {seed.answer.restoration.sharpness_after:.2f}" in html


def test_the_pdf_has_the_questions_and_its_first_page_renders(made_report):
    report, folder = made_report
    pdf = PdfReader(folder / "report.pdf")
    text = " ".join(page.extract_text() for page in pdf.pages)
    flat = " ".join(text.split())
    for section in report.sections:
        if section.question:
            assert " ".join(section.question.split()[:6]) in flat
    assert "This item failed" in flat and "Summary" in flat
    assert len(pdf.pages) >= 1 + len(report.sections)  # each question starts a page
    assert shutil.which("pdftoppm"), "install poppler-utils (make system-deps)"
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(folder / "report.pdf"),
                    str(folder / "page1")], check=True, timeout=120)
    with Image.open(folder / "page1.png") as page:
        assert 0.65 < page.width / page.height < 0.75  # A4 portrait
        dark = (np.asarray(page.convert("L")) < 128).mean()
    assert 0.005 < dark < 0.3  # text on a white page
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(folder / "page1.png", ARTIFACTS / "report_page1.png")


def test_outputs_are_written_whole_or_not_at_all(made_report, tmp_path):
    report, _ = made_report
    target = tmp_path / "report.html"
    target.write_text("previous report", encoding="utf-8")
    with pytest.raises(OSError):
        write_report(report, target, target / "report.pdf")  # a PDF "inside" a file cannot be written
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.html"]


def test_images_and_references_pair_in_order():
    jobs = ReportJob.pair([SEED, DASHCAM], [BLURRY], [SHARP])
    assert [(job.bundle, job.image, job.reference) for job in jobs] == [(SEED, BLURRY, SHARP), (DASHCAM, None, None)]
    with pytest.raises(ValueError, match="2 images for 1 bundles"):
        ReportJob.pair([SEED], [BLURRY, BLURRY], [])
    with pytest.raises(ValueError, match="1 references for 0 images"):
        ReportJob.pair([SEED], [], [SHARP])


@pytest.mark.slow
def test_cnaps_report_command(tmp_path):
    cli = [sys.executable, "-c", "from agent.cli import main; main()", "report"]
    # The lexical ranker spares this command test the embedding model's load; the report's content is tested above.
    env = {**os.environ, "CNAPS_RANKER": "lexical"}
    done = subprocess.run([*cli, str(SEED), str(VIT_MASKS), "--images", str(BLURRY), "--out", str(tmp_path / "r.html"),
                           "--pdf", str(tmp_path / "r.pdf")], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    assert "2 sections, 0 failed" in done.stdout
    assert (tmp_path / "r.html").stat().st_size > 10_000 and (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    wrong = subprocess.run([*cli, str(SEED), "--images", str(BLURRY), "--images", str(BLURRY), "--out",
                            str(tmp_path / "x.html")], capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2 and "2 images for 1 bundles" in wrong.stderr and "Traceback" not in wrong.stderr
    assert not (tmp_path / "x.html").exists()
    # A failed item still gets its section, and the exit code tells scripts (as `cnaps batch` does).
    missing = tmp_path / "missing.txt"
    partial = subprocess.run([*cli, str(VIT_MASKS), str(missing), "--out", str(tmp_path / "p.html")],
                             capture_output=True, text=True, timeout=600, env=env)
    assert partial.returncode == 1 and "2 sections, 1 failed" in partial.stdout
    assert "missing.txt" in (tmp_path / "p.html").read_text(encoding="utf-8")
