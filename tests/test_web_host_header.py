"""No URL the API sends is built from the client's Host header: trailing-slash variants are not redirected."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agent.web.api import ApiConfig, create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(ApiConfig(warm_up=False, work_root=tmp_path_factory.mktemp("jobs")))) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/jobs/"), ("POST", "/v1/jobs/"), ("POST", "/v1/answers/"), ("GET", "/healthz/"),
    ("GET", "/v1/jobs/0123/"), ("GET", "/v1/images/0123/"), ("GET", "/docs/"), ("GET", "/static-offline-docs"),
    ("GET", "/healthz"), ("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json"),
])
def test_a_forged_host_never_appears_in_a_response(client, method, path):
    # Issue 20, item 6: GET /v1/jobs/ with "Host: evil.example" answered 307 Location: http://evil.example/v1/jobs.
    response = client.request(method, path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert not 300 <= response.status_code < 400, response.headers.get("location")
    assert "location" not in response.headers
    assert all("evil.example" not in value for value in response.headers.values())
    assert "evil.example" not in response.text
    if path.endswith("/") or path == "/static-offline-docs":
        assert response.status_code == 404 and response.json()["error"] == "not_found"
