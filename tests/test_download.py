"""`cnaps weights download` against a local HTTP server that serves official-layout checkpoints."""

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import torch

from tools.download import download_preset, download_url, official_links
from tools.mimo_unet import build_network
from tools.presets import resolve_weights
from tools.weights_io import WeightsError

FIXTURES = Path(__file__).parent / "fixtures"
GOPRO_ID = official_links()["presets"]["official-gopro"]["file_id"]


def _official_checkpoint(tmp_path: Path, variant: str = "MIMO-UNet") -> bytes:
    """A small checkpoint in the official layout ({"model": state_dict}, torch pickle), as the README's files are."""
    torch.manual_seed(0)
    path = tmp_path / "official.pkl"
    torch.save({"model": build_network(variant, num_res=1, width=8).state_dict()}, path)
    return path.read_bytes()


class _Server:
    """Serves ``files`` (Drive file id -> (content type, bytes)) at /download?id=..., as Google Drive does."""

    def __init__(self, files: dict[str, tuple[str, bytes]]):
        self.files, self.requests = files, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                server.requests.append(self.path)
                file_id = parse_qs(parts.query).get("id", [""])[0]
                if parts.path != "/download" or file_id not in server.files:
                    self.send_error(404)
                    return
                content_type, body = server.files[file_id]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "weights"
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(folder))
    monkeypatch.delenv("CNAPS_WEIGHTS_URL", raising=False)
    return folder


@pytest.fixture
def server(tmp_path):
    served = _Server({GOPRO_ID: ("application/octet-stream", _official_checkpoint(tmp_path))})
    yield served
    served.close()


def test_urls_are_the_readme_drive_files_and_the_host_can_be_overridden(monkeypatch):
    assert download_url("official-gopro") == (f"https://drive.usercontent.google.com/download?id={GOPRO_ID}"
                                              "&export=download&confirm=t")
    monkeypatch.setenv("CNAPS_WEIGHTS_URL", "http://mirror.example:8080/")
    assert download_url("official-gopro").startswith(f"http://mirror.example:8080/download?id={GOPRO_ID}&")
    for preset in official_links()["presets"].values():
        assert preset["readme_link"] == f"https://drive.google.com/file/d/{preset['file_id']}/view?usp=sharing"


def test_download_verifies_installs_and_makes_the_preset_ready(weights_dir, server):
    weights = download_preset("official-gopro", base_url=server.url)
    assert weights.fetched and weights.variant == "MIMO-UNet" and (weights.num_res, weights.width) == (1, 8)
    assert weights.path == weights_dir / "MIMO-UNet.pkl" and weights.path.read_bytes() == server.files[GOPRO_ID][1]
    assert sorted(p.name for p in weights_dir.iterdir()) == ["MIMO-UNet.pkl"]  # no temporary file left
    assert resolve_weights("official-gopro") == ("official-gopro", weights.path)
    again = download_preset("official-gopro", base_url=server.url)
    assert not again.fetched and len(server.requests) == 1  # installed and verified: not fetched twice


@pytest.mark.parametrize("content_type, body, message", [
    ("text/html", b"<html>Google Drive - Quota exceeded</html>", "web page instead of the checkpoint"),
    ("application/octet-stream", b"PK\x03\x04 not a checkpoint at all", "not a usable MIMO-UNet"),
    ("application/octet-stream", (FIXTURES / "tiny_mimo_unet.safetensors").read_bytes(), "not the official"),
], ids=["html-page", "garbage", "own-format"])
def test_a_wrong_download_leaves_nothing_behind(weights_dir, tmp_path, content_type, body, message):
    served = _Server({GOPRO_ID: (content_type, body)})
    try:
        with pytest.raises(WeightsError, match=message) as caught:
            download_preset("official-gopro", base_url=served.url)
    finally:
        served.close()
    assert "\n" not in str(caught.value)
    assert not weights_dir.exists() or not any(weights_dir.iterdir())


def test_a_checkpoint_of_the_other_variant_is_refused(weights_dir, tmp_path):
    plus_id = official_links()["presets"]["official-plus-gopro"]["file_id"]
    served = _Server({plus_id: ("application/octet-stream", _official_checkpoint(tmp_path, "MIMO-UNet"))})
    try:
        with pytest.raises(WeightsError, match="not the official MIMO-UNetPlus"):
            download_preset("official-plus-gopro", base_url=served.url)
    finally:
        served.close()
    assert not (weights_dir / "MIMO-UNetPlus.pkl").exists()


def test_presets_without_a_readme_link_say_so(weights_dir):
    with pytest.raises(WeightsError, match="links no checkpoint file for 'official-plus-realblur'"):
        download_preset("official-plus-realblur")
    with pytest.raises(WeightsError, match="ships with cnaps-agent"):
        download_preset("cnaps-lite")


def _cnaps(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "CNAPS_WEIGHTS_DIR": str(env_dir)}
    env.pop("CNAPS_WEIGHTS_URL", None)
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_cli_reports_the_preset_ready(weights_dir, server):
    done = _cnaps("weights", "download", "official-gopro", "--url", server.url, env_dir=weights_dir)
    assert done.returncode == 0, done.stderr
    assert "preset official-gopro is ready" in done.stdout and "loads strictly as MIMO-UNet" in done.stdout
    listed = _cnaps("weights", "list", env_dir=weights_dir)
    assert "official-gopro" in listed.stdout and "installed" in listed.stdout.split("official-gopro", 1)[1]


def test_cli_offline_is_one_clear_line(weights_dir):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the download cannot connect
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _cnaps("weights", "download", "official-gopro", "--url", f"http://127.0.0.1:{port}", "--timeout", "5",
                  env_dir=weights_dir)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach 127.0.0.1:")
    assert "this needs internet" in lines[0] and "drive.google.com/file/d/" in lines[0]
