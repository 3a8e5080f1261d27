"""The chat page: its answering session directly, and `cnaps chat` end to end in headless Chromium."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from PIL import Image

from agent.web.chat import SEED_SOURCES, UPLOADED_BUNDLE, ChatSession, page_text
from agent.web.limits import UploadError, UploadLimits
from agent.web.store import JobStore
from knowledge.parser import load_bundle

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
SEED = FIXTURES / "bundles" / "seed.txt"
DASHCAM = FIXTURES / "bundles" / "ex_dashcam_frame.txt"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"  # gitignored; kept after the run for people to look at
SCREENSHOT = ARTIFACTS / "chat_page.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def session(tmp_path):
    store = JobStore(tmp_path)
    yield ChatSession(store)
    store.close()


def test_the_session_restores_reports_tile_progress_and_builds_the_reply(session):
    ticks: list[tuple[int, int]] = []
    reply = session.ask("", str(BLURRY), SEED_SOURCES, None, "offline", lambda done, total: ticks.append((done, total)))
    seed = load_bundle(SEED)
    assert seed.question in reply.answer_markdown
    assert ticks and ticks[-1][0] == ticks[-1][1] > 0
    assert reply.comparison is not None and reply.comparison[0] == str(BLURRY)
    with Image.open(reply.restored_file) as restored:
        assert restored.size == (128, 96)
    assert "Grounded" in reply.status_markdown and "Not grounded" not in reply.status_markdown
    # The answer names files, not the server's folders.
    assert str(session.store.root) not in reply.answer_markdown and str(FIXTURES) not in reply.answer_markdown
    assert f"`{BLURRY.name}`" in reply.answer_markdown


def test_an_uploaded_bundle_is_answered_with_its_own_question_unless_one_is_typed(session):
    reply = session.ask("", None, UPLOADED_BUNDLE, str(DASHCAM), "offline")
    assert load_bundle(DASHCAM).question in reply.answer_markdown
    assert reply.comparison is None and reply.restored_file is None
    typed = session.ask("Can the plate be read?", None, UPLOADED_BUNDLE, str(DASHCAM), "offline")
    assert "Can the plate be read?" in typed.answer_markdown


def test_the_session_refuses_bad_uploads_with_a_reason(tmp_path):
    session = ChatSession(JobStore(tmp_path), limits=UploadLimits(max_image_pixels=1000))
    with pytest.raises(UploadError, match="choose a bundle document"):
        session.ask("q", None, UPLOADED_BUNDLE, None, "offline")
    with pytest.raises(UploadError, match="12288 pixels; the limit is 1000"):
        session.ask("q", str(BLURRY), SEED_SOURCES, None, "offline")
    not_text = tmp_path / "bundle.txt"
    not_text.write_bytes(b"\xff\xfe\x00broken")
    with pytest.raises(UploadError, match="not UTF-8"):
        session.ask("q", None, UPLOADED_BUNDLE, str(not_text), "offline")


def test_the_page_texts_render_from_their_templates():
    assert "offline" in page_text("chat_intro.md.j2") and "#answer" in page_text("chat_style.css.j2")
    with_image = page_text("chat_progress.txt.j2", stage="start", image_given=True)
    assert with_image.startswith("Restoring the image") and "\n" not in with_image
    assert page_text("chat_progress.txt.j2", stage="start", image_given=False) == "Composing the answer"
    assert page_text("chat_progress.txt.j2", stage="tiles") == "Restoring the image"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def chat_server(tmp_path):
    """`cnaps chat` on a free port of 127.0.0.1, stopped after the test."""
    port = free_port()
    log = (tmp_path / "chat.log").open("w")
    env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "CNAPS_BACKEND": "offline"}
    command = [sys.executable, "-c", "from agent.cli import main; main()", "chat", "--port", str(port)]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "chat.log").read_text()
            assert time.monotonic() < deadline, "cnaps chat did not start in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(30)
        log.close()


# Watched in the page: remembers every progress text such as "0/1 tiles" shown while the image is restored.
# A MutationObserver, not a timer: with the lite network a small image restores in tens of milliseconds.
WATCH_TILE_PROGRESS = """() => {
  window.tileProgress = [];
  const record = () => {
    for (const node of document.querySelectorAll('.progress-text')) {
      const text = node.textContent.replace(/\\s+/g, ' ');
      if (/\\d+\\/\\d+ tiles/.test(text) && !window.tileProgress.includes(text)) window.tileProgress.push(text);
    }
  };
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_the_chat_page_restores_an_uploaded_image_and_answers_from_the_seed_only(chat_server, capsys):
    from playwright.sync_api import expect, sync_playwright

    seed = load_bundle(SEED)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        try:
            # Generous: on a machine busy training, the page's own scripts may take a minute to run.
            page.set_default_timeout(240_000)
            expect.set_options(timeout=240_000)
            page.goto(chat_server, wait_until="networkidle")
            expect(page.locator("#ask")).to_be_visible()
            page.locator("#image input[type=file]").set_input_files(str(BLURRY))
            expect(page.locator("#image img")).to_be_visible()
            page.locator("#question textarea").fill(seed.question)
            page.evaluate(WATCH_TILE_PROGRESS)
            page.locator("#ask").click()
            expect(page.locator("#answer a[href^='http']").first).to_be_visible(timeout=480_000)
            after = page.locator("#comparison img").last
            expect(after).to_be_visible()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=after.element_handle())
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            with capsys.disabled():
                print(f"\nchat page screenshot: {SCREENSHOT}")

            links = page.eval_on_selector_all("#answer a[href]", "anchors => anchors.map(a => a.href)")
            answer_text = page.locator("#answer").inner_text()
            sizes = page.eval_on_selector_all("#comparison img", "images => images.map(i => [i.naturalWidth, "
                                                                 "i.naturalHeight])")
            download = page.locator("#restored-file a[href]").first
            download_name, download_href = download.inner_text(), download.get_attribute("href")
            status = page.locator("#status").inner_text()
            progress_seen = page.evaluate("window.tileProgress")
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "chat_page_failed.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert seed.question in answer_text
    assert links and set(links) <= seed.allowed_links()
    assert "https://github.com/chosj95/MIMO-UNet" in links
    assert len(sizes) == 2 and all(size == [128, 96] for size in sizes)
    assert download_name
    with Image.open(io.BytesIO(httpx.get(urljoin(chat_server, download_href), timeout=60).content)) as restored:
        assert restored.size == (128, 96)
    assert status.startswith("Grounded:") and "cnaps-lite" in status
    assert progress_seen and all(text.strip() for text in progress_seen)
