"""Helpers for the tests and benchmarks that start the app's own processes (the exchange
emulator, workers, servers, the demo) and sign in to the app over HTTP as a person would.

The one home of these helpers: bench/ imports them from here (`tests` is a package, and both
run from the repository root), and tests never import bench/. They stay out of sandbox/:
the management commands that start the emulator and seed the demo import it, and a login that
computes TOTP codes belongs nowhere near what the app imports.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    """A port nothing listens on now, on loopback, for a server the caller starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def wait_for(
    condition: Callable[[], Any], seconds: float, step: float = 0.1, *, what: str = ""
) -> bool:
    """Poll `condition` until it holds (True) or `seconds` pass: then False, or TimeoutError
    when `what` names the event waited for (for callers with no assert to fail)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    if what:
        raise TimeoutError(f"{what} did not happen within {seconds:.0f} s")
    return False


def children_of(pid: int) -> set[int]:
    """A process's children, such as a worker's pool: a restarted pool would have new ids."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def spawn(command: list[str], *, log: Path, env: Mapping[str, str]) -> subprocess.Popen:
    """One of our programs, run from the repository root with its output in `log`, in a
    session of its own, so that stop_group reaches whatever it forks."""
    with log.open("w") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM, seconds: float = 15) -> None:
    """Stop a process started in its own session, and everything it forked (a worker's pool).

    SIGTERM goes to the leader only, so that a worker shuts down warm; SIGKILL to the group.
    """
    try:
        if sig == signal.SIGKILL:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        process.wait(timeout=seconds)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:  # a pool process left behind, or a leader deaf to SIGTERM
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def start_emulator(scenario: Path) -> tuple[subprocess.Popen, str]:
    """`python -m sandbox SCENARIO` in a session of its own: the process, and the URL it serves.

    The emulator binds a free port itself and prints its URL once it listens, so reading that
    line is the wait. Stop it with stop_group.
    """
    command = [sys.executable, "-m", "sandbox", str(scenario), "--port", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None  # stdout=PIPE: for the type checker
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        stop_group(process)
        raise RuntimeError(f"the exchange emulator did not start (it said {url!r})")
    return process, url


def totp_token(
    key: str,
    *,
    step: int = 30,
    t0: int = 0,
    digits: int = 6,
    drift: int = 0,
    steps_ahead: int = 0,
) -> str:
    """The code an authenticator app shows now (or `steps_ahead` steps from now) for a TOTP
    device's hex key. The defaults are TOTPDevice's, which every device made here keeps."""
    from django_otp.oath import TOTP

    totp = TOTP(bytes.fromhex(key), step, t0, digits, drift)
    totp.time = time.time() + steps_ahead * step
    return f"{totp.token():0{digits}d}"


def device_token(device: Any, steps_ahead: int = 0) -> str:
    """totp_token for a TOTPDevice, with the device's own settings."""
    return totp_token(
        device.key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift,
        steps_ahead=steps_ahead,
    )


class LoopbackCookies(requests.cookies.RequestsCookieJar):
    """Send the app's Secure cookies back over plain HTTP: for 127.0.0.1 only.

    A cookie policy would not do: requests copies the cookies into a jar of its own (with the
    default policy) for every request, so the flag itself goes when a cookie is stored.
    """

    def set_cookie(self, cookie: Cookie, *args: Any, **kwargs: Any) -> None:
        cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


def csrf_of(page: requests.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    if not found:
        raise RuntimeError(f"no CSRF token on {page.url} ({page.status_code})")
    return found.group(1)


def log_in(
    base: str, username: str, password: str, totp_key: str | None = None
) -> requests.Session:
    """A session past the login form and, given the device's hex key, the TOTP step, through
    the real pages of the app at `base` (a loopback URL)."""
    session = requests.Session()
    session.cookies = LoopbackCookies()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    data = {"username": username, "password": password, "csrfmiddlewaretoken": csrf_of(page)}
    page = session.post(f"{base}/accounts/login/", data=data, timeout=30)
    if totp_key is not None:
        data = {"token": totp_token(totp_key), "csrfmiddlewaretoken": csrf_of(page)}
        page = session.post(f"{base}/accounts/two-factor/verify/", data=data, timeout=30)
    if page.status_code != 200 or "/accounts/" in page.url:
        raise RuntimeError(f"login of {username} failed: {page.status_code} at {page.url}")
    return session
