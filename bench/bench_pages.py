"""Page latency: 20 signed-in managers load the exposure report of a 5,000-position portfolio.

A real multi-threaded WSGI server (gunicorn, gthread workers) serves the app on 127.0.0.1
against PostgreSQL. Each of USERS threads logs in through the login form and the TOTP step
(one manager and one authenticator device each: a TOTP code is accepted once), then requests
the page for DURATION_S seconds, pausing about THINK_S between pages, then again back to back.
Reported for each: requests, p50, p95, max, errors; target p95 <= 300 ms for the first.
The page is riskmodels:report, or the portfolio page while the report does not exist.

Needs DATABASE_URL (PostgreSQL); it uses its own database, counterweight_bench_pages.
Run with ``python -m bench.bench_pages`` or call :func:`run`. Loopback only; stops by itself.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_engine, bench_exposure  # noqa: E402
from bench.common import percentile, use_bench_database  # noqa: E402
from tests.processes import free_port, log_in, port_open, wait_for  # noqa: E402

DATABASE = "counterweight_bench_pages"
USERS = 20
DURATION_S = 20.0
SOLO_S = 5.0
LOCATIONS = 25  # × 200 assets = 5,000 positions
TARGET_P95_MS = 300.0
# Each of the 20 users pauses about a second between pages (0.5 to 1.5 s), as a person reading
# a report does; the back-to-back run that follows shows where this machine saturates.
THINK_S = 1.0
WORKERS = max(2, (os.cpu_count() or 1) + 1)
THREADS = 4
PASSWORD = "bench pages password"  # noqa: S105 - a throwaway user in a throwaway database


def build_data() -> tuple[str, list]:
    """The portfolio with a computed exposure, and USERS managers with TOTP devices."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import AccessGrant, AccessLevel, Role
    from accounts.services import create_user
    from portfolio.models import Portfolio
    from riskmodels.services import compute_exposure

    rng = random.Random(bench_engine.SEED)
    ids, assets = bench_exposure.load_registry(rng)
    portfolio_id = bench_exposure.load_portfolio("bench-pages", LOCATIONS, ids, assets, rng)
    compute_exposure(portfolio_id=portfolio_id)
    portfolio = Portfolio.objects.get(pk=portfolio_id)
    devices = []
    for n in range(USERS):
        user = create_user(username=f"manager{n}", password=PASSWORD, role=Role.MANAGER)
        AccessGrant.objects.create(user=user, portfolio=portfolio, level=AccessLevel.MANAGE)
        devices.append(TOTPDevice.objects.create(user=user, name="bench", confirmed=True))
    return portfolio.slug, devices


def page_path(slug: str) -> tuple[str, str]:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("riskmodels:report", args=[slug]), "riskmodels:report"
    except NoReverseMatch:
        return reverse("portfolio:portfolio_detail", args=[slug]), "portfolio:portfolio_detail"


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1", "DEBUG": "0"}
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
        *("--worker-class", "gthread", "--threads", str(THREADS), "--log-level", "warning"),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    if wait_for(lambda: port_open(port), 30, step=0.2):
        return server
    server.kill()
    raise SystemExit("gunicorn did not start within 30 s")


def hammer(
    session: requests.Session,
    url: str,
    until: float,
    times: list[float],
    errors: list[str],
    think_s: float = 0.0,
) -> None:
    """Request `url` until the deadline, pausing about `think_s` between requests (0: back to
    back); latencies in ms, errors in words."""
    rng = random.Random()
    while time.monotonic() < until:
        if think_s:
            time.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))
        start = time.perf_counter()
        try:
            response = session.get(url, timeout=30, allow_redirects=False)
            ok = response.status_code == 200
            problem = f"status {response.status_code}"
        except Exception as error:  # a failed request is a result to report, not a crash
            ok, problem = False, type(error).__name__
        times.append((time.perf_counter() - start) * 1000)
        if not ok:
            errors.append(problem)


def single_user_ms(session: requests.Session, url: str) -> float:
    """One user alone for SOLO_S seconds: the page's own cost, without queueing behind others."""
    times: list[float] = []
    hammer(session, url, time.monotonic() + SOLO_S, times, [])
    return round(statistics.median(times), 1)


def load(sessions: list[requests.Session], url: str, think_s: float) -> dict:
    """All users at once for DURATION_S seconds; each pauses about `think_s` between pages."""
    times: list[float] = []
    errors: list[str] = []
    until = time.monotonic() + DURATION_S
    threads = [
        threading.Thread(target=hammer, args=(session, url, until, times, errors, think_s))
        for session in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION_S + 60)
    return {
        "requests": len(times),
        "requests_per_s": round(len(times) / DURATION_S, 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
    }


def measure(base: str, path: str, devices: list) -> dict:
    """Users who read what they load (the target), then the same users back to back (the
    saturation point of this 2-core machine, where the load generator competes for the CPU)."""
    sessions = [log_in(base, device.user.username, PASSWORD, device.key) for device in devices]
    solo = single_user_ms(sessions[0], base + path)
    reading = load(sessions, base + path, THINK_S)
    saturated = load(sessions, base + path, 0.0)
    return {
        "single_user_p50_ms": solo,
        "think_time_s": THINK_S,
        **reading,
        "p95_target_ms": TARGET_P95_MS,
        "p95_within_target": reading["p95_ms"] <= TARGET_P95_MS,
        **{f"back_to_back_{key}": value for key, value in saturated.items()},
    }


def run() -> dict:
    use_bench_database(DATABASE)
    slug, devices = build_data()
    path, page = page_path(slug)
    port = free_port()
    server = start_server(port)
    try:
        figures = measure(f"http://127.0.0.1:{port}", path, devices)
    finally:
        server.terminate()
        server.wait(timeout=30)
    setup = {
        "page": page if page == "riskmodels:report" else f"{page} (no exposure report page yet)",
        "positions": LOCATIONS * len(bench_engine.assets(random.Random(bench_engine.SEED))),
        "users": USERS,
        "duration_s": DURATION_S,
        "server": f"gunicorn gthread, {WORKERS} workers × {THREADS} threads",
        "cores": os.cpu_count(),
    }
    return setup | figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
