"""`make demo` prints the demo users last, once its server answers (sandbox.rundemo)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.rundemo import USERS_FILE
from tests.processes import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent
USERS = (
    "Demo users (passwords are new on every run):\n  admin      pw-admin\n  manager    pw-manager\n"
)


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's own defaults (SQLite, filesystem broker) in a folder of the test's."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {"VAR_DIR": str(tmp_path), "DEBUG": "1", "PORT": str(free_port())}
    env["PYTHONUNBUFFERED"] = "1"  # lines in the order a terminal shows them
    manage = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def test_the_demo_prints_its_users_last_once_the_server_answers(demo_env, tmp_path):
    (tmp_path / USERS_FILE).write_text(USERS)
    command = [sys.executable, "-m", "sandbox.rundemo"]
    demo = subprocess.Popen(
        command,
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    answered: list[bool] = []

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.startswith("Demo users"):  # the server must answer by now
                health = f"http://127.0.0.1:{demo_env['PORT']}/health/"
                with urllib.request.urlopen(health, timeout=5) as response:
                    answered.append(response.status == 200)
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: "  manager    pw-manager" in lines, 90), lines
        time.sleep(2)  # anything printed after the users would show up by now
        assert answered == [True]
        address = f"http://127.0.0.1:{demo_env['PORT']}/"
        assert lines[-4:] == [
            f"Counterweight runs at {address} (Ctrl-C stops everything)",
            *USERS.splitlines(),
        ]
        assert lines[0].startswith("Exchange emulator (demo scenario) at http://127.0.0.1:")
        assert not (tmp_path / USERS_FILE).exists()  # printed once, then forgotten
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
