"""The HTTP API against a real uvicorn server on 127.0.0.1: answers, restored images, limits, errors, 8 clients."""

from __future__ import annotations

import io
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from agent.web.api import ApiConfig, create_app
from agent.web.limits import UploadLimits
from knowledge.parser import load_bundle

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
SEED = FIXTURES / "bundles" / "seed.txt"
DASHCAM = FIXTURES / "bundles" / "ex_dashcam_frame.txt"
SEED_QUESTION = load_bundle(SEED).question


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(config: ApiConfig):
    """A real uvicorn server on 127.0.0.1 in a thread; yields its base URL and stops it afterwards."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def wait_until_idle(url: str, seconds: float = 600) -> None:
    """Wait for the start-up warm-up (and anything else) to leave the worker pool."""
    deadline = time.monotonic() + seconds
    while True:
        pool = httpx.get(f"{url}/healthz").json()["pool"]
        if pool["running"] == 0 and pool["waiting"] == 0:
            return
        assert time.monotonic() < deadline, "the worker pool never became idle"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    config = ApiConfig(workers=1, queue_size=16, work_root=tmp_path_factory.mktemp("api-jobs"),
                       limits=UploadLimits(max_image_pixels=200_000, max_request_bytes=2_000_000))
    with running_server(config) as url:
        wait_until_idle(url)
        yield url


def post_answer(url: str, timeout: float = 600, **parts) -> httpx.Response:
    """POST /v1/answers with form fields (str values) and files ((name, bytes, type) values)."""
    data = {key: value for key, value in parts.items() if isinstance(value, str)}
    files = {key: value for key, value in parts.items() if isinstance(value, tuple)}
    return httpx.post(f"{url}/v1/answers", data=data, files=files or None, timeout=timeout)


def image_part(path: Path = BLURRY, content_type: str = "image/png"):
    return ("photo.png", path.read_bytes(), content_type)


def answer_links(answer: dict) -> set[str]:
    return {link for reference in answer["references"] for link in reference["links"]}


def test_health_and_docs(base_url):
    health = httpx.get(f"{base_url}/healthz").json()
    assert health["status"] == "ok" and health["backends"] == ["offline", "openai", "local"]
    assert health["pool"]["workers"] == 1 and health["pool"]["queue_size"] == 16
    assert "swagger-ui" in httpx.get(f"{base_url}/docs").text
    schema = httpx.get(f"{base_url}/openapi.json").json()
    assert {"/v1/answers", "/v1/images/{image_id}", "/healthz"} <= set(schema["paths"])


def test_a_question_with_an_image_gets_a_grounded_answer_and_a_restored_image(base_url):
    response = post_answer(base_url, question=SEED_QUESTION, image=image_part(), backend="offline")
    assert response.status_code == 200, response.text
    body = response.json()
    answer = body["answer"]
    assert answer["question"] == SEED_QUESTION and answer["grounded"] and not answer["violations"]
    assert answer_links(answer) and answer_links(answer) <= load_bundle(SEED).allowed_links()
    # The restored image is served by id, has the input's size, and no server path leaks into the JSON.
    assert body["restored_image_url"] == f"/v1/images/{body['id']}"  # relative: never built from the Host header
    assert answer["restoration"]["output_path"] == body["restored_image_url"]
    assert answer["restoration"]["input_path"] == "photo.png" and "cnaps-web-" not in response.text
    image = httpx.get(base_url + body["restored_image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as restored:
        assert restored.size == (128, 96)


def test_a_bundle_document_is_answered_from_its_own_sources(base_url):
    response = post_answer(base_url, bundle=("dashcam.txt", DASHCAM.read_bytes(), "text/plain"))
    assert response.status_code == 200, response.text
    body = response.json()
    bundle = load_bundle(DASHCAM)
    assert body["answer"]["question"] == bundle.question
    assert answer_links(body["answer"]) <= bundle.allowed_links()
    assert body["restored_image_url"] is None and body["answer"]["restoration"] is None


@pytest.mark.parametrize(("parts", "status", "kind", "words"), [
    ({}, 422, "invalid_request", "send a question"),
    ({"bundle": ("q.txt", b"no question in here at all", "text/plain")}, 422, "bad_bundle", "q"),
    ({"bundle": ("q.pdf", b"%PDF-1.4", "application/pdf")}, 415, "unsupported_media_type", "application/pdf"),
    ({"question": "x", "image": ("a.png", b"not a png at all", "image/png")}, 422, "invalid_request",
     "could not be read"),
    ({"question": "x", "image": ("a.gif", b"GIF89a", "image/gif")}, 415, "unsupported_media_type", "image/gif"),
    ({"question": "x", "backend": "gpt-99"}, 422, "invalid_request", "unknown backend 'gpt-99'"),
])
def test_bad_requests_get_a_json_error_that_says_what_was_wrong(base_url, parts, status, kind, words):
    response = post_answer(base_url, **parts)
    assert response.status_code == status, response.text
    assert response.json()["error"] == kind and words in response.json()["detail"]


def test_size_and_pixel_limits(base_url):
    big = io.BytesIO()
    Image.new("RGB", (600, 400), (90, 90, 90)).save(big, format="PNG")
    too_many_pixels = post_answer(base_url, question="x", image=("big.png", big.getvalue(), "image/png"))
    assert too_many_pixels.status_code == 413
    assert "600x400 = 240000 pixels; the limit is 200000" in too_many_pixels.json()["detail"]
    too_many_bytes = post_answer(base_url, question="x", image=("huge.png", b"\0" * 2_100_000, "image/png"))
    assert too_many_bytes.status_code == 413 and too_many_bytes.json()["error"] == "too_large"


def test_chunked_uploads_cannot_slip_past_the_body_limit(base_url):
    def body():
        yield (b'--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
               b"Content-Type: image/png\r\n\r\n")
        for _ in range(40):
            yield b"\0" * 65536  # 2.6 MB in chunks, with no Content-Length header

    response = httpx.post(f"{base_url}/v1/answers", content=body(), timeout=60,
                          headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413 and "exceeds the limit of 2000000 bytes" in response.json()["detail"]


@pytest.mark.parametrize("image_id", ["0" * 32, "nope", "..%2F..%2Fetc%2Fpasswd", "%2e%2e"])
def test_unknown_or_hostile_image_ids_are_404(base_url, image_id):
    response = httpx.get(f"{base_url}/v1/images/{image_id}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.slow
def test_eight_concurrent_clients_are_all_answered_one_restoration_at_a_time(base_url):
    peak_running = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak_running
        while not done.is_set():
            peak_running = max(peak_running, httpx.get(f"{base_url}/healthz").json()["pool"]["running"])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with ThreadPoolExecutor(8) as clients:
        responses = list(clients.map(lambda _: post_answer(base_url, question=SEED_QUESTION, image=image_part(),
                                                           timeout=300), range(8)))
    done.set()
    watcher.join(5)
    assert [response.status_code for response in responses] == [200] * 8
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == 8
    assert all(httpx.get(f"{base_url}/v1/images/{image_id}").status_code == 200 for image_id in ids)
    assert peak_running == 1
    # ru_maxrss is in KiB on Linux: eight queued clients must not add more than one restoration's worth.
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before) < 1_500_000
    assert httpx.get(f"{base_url}/healthz").json()["pool"]["waiting"] == 0


@pytest.mark.slow
def test_a_full_queue_answers_503_and_the_server_keeps_working(tmp_path):
    big = io.BytesIO()
    Image.open(BLURRY).resize((512, 384)).save(big, format="PNG")
    config = ApiConfig(workers=1, queue_size=1, work_root=tmp_path)
    with running_server(config) as url:
        wait_until_idle(url)
        with ThreadPoolExecutor(8) as clients:
            responses = list(clients.map(
                lambda _: post_answer(url, question=SEED_QUESTION, image=("big.png", big.getvalue(), "image/png"),
                                      timeout=300), range(8)))
        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) == {200, 503} and statuses.count(200) >= 2
        busy = next(response for response in responses if response.status_code == 503)
        assert busy.json()["error"] == "busy" and busy.headers["retry-after"] == "5"
        assert post_answer(url, question=SEED_QUESTION).status_code == 200


@pytest.mark.slow
def test_cnaps_serve_starts_a_server_and_stops_cleanly(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from agent.cli import main; main()", "serve", "--port", str(port)]
    # The lexical ranker spares this start-up test the embedding model's load; answers are tested above.
    env = {**os.environ, "CNAPS_RANKER": "lexical"}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        # Stopping waits for running work (here the start-up warm-up), so stop once the pool is idle.
        wait_until_idle(url)
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells how it ended.
        assert "Application shutdown complete" in output and server.returncode in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)


# --- Jobs: POST /v1/jobs, GET/DELETE /v1/jobs/{id}, GET /v1/jobs/{id}/events ---

def post_job(url: str, **parts) -> httpx.Response:
    data = {key: value for key, value in parts.items() if isinstance(value, str)}
    files = {key: value for key, value in parts.items() if isinstance(value, tuple)}
    return httpx.post(f"{url}/v1/jobs", data=data, files=files or None, timeout=60)


def wait_for_job(url: str, job_id: str, seconds: float = 600) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=30).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.1)


def many_tiles_image() -> tuple[str, bytes, str]:
    """A 512x384 photo: with tile=64 its restoration takes about two hundred tiles, long enough to cancel."""
    big = io.BytesIO()
    Image.open(BLURRY).resize((512, 384)).save(big, format="PNG")
    return ("street scene.png", big.getvalue(), "image/png")


def read_events(url: str, job_id: str) -> list[tuple[str, dict]]:
    """Every (event name, data) of a job's event stream, until the server ends it."""
    import json

    events, name = [], None
    with httpx.stream("GET", f"{url}/v1/jobs/{job_id}/events", timeout=600) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_a_job_is_accepted_at_once_then_polled_to_its_answer_and_restored_image(base_url):
    response = post_job(base_url, question=SEED_QUESTION, image=image_part(), weights="cnaps-lite", tile="0",
                        device="cpu")
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] in ("queued", "running") and job["result"] is None
    assert response.headers["location"] == job["status_url"] == f"/v1/jobs/{job['id']}"
    assert job["events_url"] == f"/v1/jobs/{job['id']}/events"
    done = wait_for_job(base_url, job["id"])
    assert done["status"] == "done" and done["error"] is None and done["finished"]
    # tile=0: one tile, the whole image; the progress says it was restored, then composed.
    assert done["progress"] == {"stage": "finished", "tiles_done": 1, "tiles_total": 1}
    result = done["result"]
    assert result["id"] == job["id"] and result["answer"]["grounded"]
    assert result["answer"]["restoration"]["preset"] == "cnaps-lite"
    assert answer_links(result["answer"]) <= load_bundle(SEED).allowed_links()
    image = httpx.get(base_url + result["restored_image_url"])
    assert image.status_code == 200 and 'filename="photo_restored.png"' in image.headers["content-disposition"]
    with Image.open(io.BytesIO(image.content)) as restored:
        assert restored.size == (128, 96)
    assert "api-jobs" not in httpx.get(base_url + done["status_url"]).text  # no server folder in the job either


@pytest.mark.parametrize(("parts", "words"), [
    ({"weights": "best-ever"}, "unknown weights preset 'best-ever'; choose one of cnaps-lite"),
    ({"weights": "/etc/passwd"}, "unknown weights preset '/etc/passwd'"),
    ({"tile": "10"}, "tile size 10 is too small"),
    ({"tile": "-1"}, "tile"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
])
def test_job_and_answer_options_are_checked_before_any_work(base_url, parts, words):
    for route in ("/v1/jobs", "/v1/answers"):
        response = httpx.post(f"{base_url}{route}", data={"question": SEED_QUESTION, **parts}, timeout=60)
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]


def test_server_sent_events_follow_a_job_tile_by_tile_to_its_answer(base_url):
    job = post_job(base_url, question=SEED_QUESTION, image=many_tiles_image(), tile="96").json()
    events = read_events(base_url, job["id"])
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"progress"}
    tiles = [data["progress"]["tiles_done"] for name, data in events if data["progress"]["stage"] == "restoring"]
    assert tiles == sorted(tiles) and len(tiles) >= 2  # several steps seen, never going back
    final = events[-1][1]
    total = final["progress"]["tiles_total"]
    assert total > 4 and final["progress"]["tiles_done"] == total
    assert final["result"]["answer"]["restoration"]["input_path"] == "street_scene.png"
    assert final["result"]["restored_image_url"].endswith(job["id"])


def test_cancelling_stops_a_running_restoration_at_a_tile_and_a_queued_job_at_once(base_url):
    wait_until_idle(base_url)
    running = post_job(base_url, question=SEED_QUESTION, image=many_tiles_image(), tile="64").json()
    queued = post_job(base_url, question=SEED_QUESTION, image=image_part()).json()
    deadline = time.monotonic() + 300
    while httpx.get(base_url + running["status_url"]).json()["progress"]["tiles_done"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert httpx.get(base_url + queued["status_url"]).json()["status"] == "queued"  # one worker: it waits its turn

    cancelled_queued = httpx.delete(base_url + queued["status_url"])
    assert cancelled_queued.status_code == 200 and cancelled_queued.json()["status"] == "cancelled"
    assert httpx.delete(base_url + running["status_url"]).status_code == 200
    stopped = wait_for_job(base_url, running["id"], 120)
    assert stopped["status"] == "cancelled" and stopped["result"] is None
    assert 1 <= stopped["progress"]["tiles_done"] < stopped["progress"]["tiles_total"]
    assert httpx.get(f"{base_url}/v1/images/{running['id']}").status_code == 404
    # The worker is free again: a new job is answered.
    assert wait_for_job(base_url, post_job(base_url, question=SEED_QUESTION).json()["id"])["status"] == "done"


def test_a_failed_job_says_why_and_a_finished_job_can_be_removed(base_url):
    bad = post_job(base_url, question=SEED_QUESTION,
                   image=("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"))
    assert bad.status_code == 422  # unreadable images are refused before a job exists
    job = post_job(base_url, question=SEED_QUESTION, image=image_part()).json()
    assert wait_for_job(base_url, job["id"])["status"] == "done"
    removed = httpx.delete(base_url + job["status_url"])
    assert removed.status_code == 200 and removed.json()["status"] == "done"
    assert httpx.get(base_url + job["status_url"]).status_code == 404
    assert httpx.get(f"{base_url}/v1/images/{job['id']}").status_code == 404


@pytest.mark.parametrize("path", ["/v1/jobs/{id}", "/v1/jobs/{id}/events"])
@pytest.mark.parametrize("job_id", ["0" * 32, "nope", "..%2F..%2Fetc"])
def test_unknown_job_ids_are_404(base_url, path, job_id):
    for method in ("GET", "DELETE") if path == "/v1/jobs/{id}" else ("GET",):
        response = httpx.request(method, base_url + path.replace("{id}", job_id))
        assert response.status_code == 404 and response.json()["error"] == "not_found"


@pytest.mark.slow
def test_eight_concurrent_jobs_all_finish_and_keep_their_own_results(base_url):
    wait_until_idle(base_url)
    with ThreadPoolExecutor(8) as clients:
        accepted = list(clients.map(lambda index: post_job(
            base_url, question=SEED_QUESTION, image=(f"photo{index}.png", BLURRY.read_bytes(), "image/png")),
            range(8)))
    assert [response.status_code for response in accepted] == [202] * 8
    ids = [response.json()["id"] for response in accepted]
    assert len(set(ids)) == 8
    assert httpx.get(f"{base_url}/healthz").json()["pool"]["running"] <= 1
    finished = [wait_for_job(base_url, job_id) for job_id in ids]
    assert [job["status"] for job in finished] == ["done"] * 8
    for index, job in enumerate(finished):
        assert job["result"]["answer"]["restoration"]["input_path"] == f"photo{index}.png"
        image = httpx.get(base_url + job["result"]["restored_image_url"])
        assert f'filename="photo{index}_restored.png"' in image.headers["content-disposition"]


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_docs_and_redoc_render_in_chromium_with_no_network(base_url):
    from playwright.sync_api import expect, sync_playwright

    # docs/ is refreshed only on request (CNAPS_SCREENSHOTS=docs), so a test run never rewrites tracked files
    docs = Path(__file__).parent.parent / "docs" if os.environ.get("CNAPS_SCREENSHOTS") == "docs" \
        else Path(tempfile.gettempdir())
    blocked: list[str] = []

    def local_only(route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(120_000)
        page.route("**/*", local_only)
        try:
            page.goto(f"{base_url}/docs", wait_until="load")
            jobs = page.locator(".opblock-summary-path", has_text="/v1/jobs").first
            expect(jobs).to_be_visible(timeout=120_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            page.screenshot(path=str(docs / "api_docs.png"))
            page.goto(f"{base_url}/redoc", wait_until="load")
            expect(page.locator("h1", has_text="cnaps-agent")).to_be_visible(timeout=120_000)
            expect(page.get_by_text("Start answering in the background").first).to_be_attached()
        finally:
            browser.close()
    assert {"/v1/answers", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/events"} <= {
        path.replace("\u200b", "") for path in paths}
    # Only ReDoc's "powered by" logo is asked of another host (it is missing offline; the page works without it).
    assert all(url == "https://cdn.redoc.ly/redoc/logo-mini.svg" for url in blocked), blocked
