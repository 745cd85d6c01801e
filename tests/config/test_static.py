"""Static files: hashed names, gzip, a far-future cache header (WhiteNoise, config.storage)."""

from __future__ import annotations

import gzip
import re
from importlib.metadata import version
from pathlib import Path

from django.contrib.staticfiles import finders
from django.templatetags.static import static

ROOT = Path(__file__).resolve().parents[2]
TEN_YEARS = 10 * 365 * 24 * 60 * 60


def test_plotly_is_named_by_its_hash():
    assert re.fullmatch(
        r"/static/plotly/plotly\.min\.[0-9a-f]{12}\.js", static("plotly/plotly.min.js")
    )


def test_the_hashed_plotly_is_served_gzipped_and_cached_for_years(client):
    response = client.get(static("plotly/plotly.min.js"), HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == f"max-age={TEN_YEARS}, public, immutable"
    assert "Accept-Encoding" in response["Vary"]
    body = b"".join(response.streaming_content)
    original = Path(finders.find("plotly/plotly.min.js")).read_bytes()
    assert len(body) < len(original) / 3  # 4.8 MB sent as about 1.4 MB
    assert gzip.decompress(body) == original


def test_a_client_without_gzip_gets_the_plain_file(client):
    response = client.get(static("riskmodels/charts.js"), HTTP_ACCEPT_ENCODING="identity")
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert (
        b"".join(response.streaming_content)
        == Path(finders.find("riskmodels/charts.js")).read_bytes()
    )


def test_pages_name_the_stylesheet_by_its_hash(client):
    html = client.get("/accounts/login/").content.decode()
    assert f'href="{static("counterweight/app.css")}"' in html
    assert re.search(r'href="/static/counterweight/app\.[0-9a-f]{12}\.css"', html)


def test_whitenoise_is_pinned_at_the_installed_version():
    pins = (ROOT / "requirements.txt").read_text().splitlines()
    assert f"whitenoise=={version('whitenoise')}" in pins


def test_the_demo_with_debug_on_serves_the_same_hashed_gzipped_files(client, settings):
    settings.DEBUG = True  # make demo's setting; WhiteNoise then looks files up on each request
    url = static("plotly/plotly.min.js")
    assert re.fullmatch(r"/static/plotly/plotly\.min\.[0-9a-f]{12}\.js", url)
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == f"max-age={TEN_YEARS}, public, immutable"


def test_under_debug_a_file_not_collected_yet_keeps_its_plain_name(settings):
    settings.DEBUG = True
    assert static("counterweight/not-collected.css") == "/static/counterweight/not-collected.css"
