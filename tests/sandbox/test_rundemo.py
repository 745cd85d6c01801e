"""`make demo`'s last step stops everything it started, however it is stopped, and starts its
worker and beat again whenever they exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.rundemo import Supervised
from tests.processes import children_of, free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parent.parent.parent


def all_children_of(pid: int) -> set[int]:
    """Children forked by any thread: the demo restarts its worker from a supervising thread,
    and /proc lists a child under the thread that forked it."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(child) for child in (task / "children").read_text().split()}
        except OSError:  # the thread ended meanwhile
            pass
    return found


def descendants_of(pid: int) -> set[int]:
    found = all_children_of(pid)
    for child in list(found):
        found |= descendants_of(child)
    return found


def alive(pid: int) -> bool:
    """Running, and not a zombie that nobody has reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"pid {pid}"


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    """The demo's own defaults (SQLite, filesystem broker) in a folder of the test's."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {"VAR_DIR": str(tmp_path), "DEBUG": "1", "PORT": str(free_port())}
    manage = [sys.executable, "manage.py", "migrate", "--noinput"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def test_sigterm_stops_the_emulator_workers_and_server(demo_env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "sandbox.rundemo"]
    demo = subprocess.Popen(command, cwd=ROOT, env=demo_env, stdout=subprocess.DEVNULL)
    started: set[int] = set()
    try:
        # Stopped once it runs: the emulator, worker and beat, and a server that answers.
        assert wait_for(lambda: port_open(int(demo_env["PORT"])), 60)
        assert len(children_of(demo.pid)) == 4
        started = descendants_of(demo.pid)  # with the worker's pool, once it has forked
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
        wait_for(lambda: not any(alive(pid) for pid in started), 30)
        assert [command_of(pid) for pid in started if alive(pid)] == []
    finally:  # whatever failed above, leave nothing running
        for pid in started | descendants_of(demo.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.kill()
        demo.wait()


def test_a_supervised_child_that_exits_is_started_again_until_stopped(capfd) -> None:
    sleeper = Supervised("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], {})
    first = sleeper.process
    try:
        os.kill(first.pid, signal.SIGKILL)
        assert wait_for(lambda: sleeper.process is not first, 10)
        assert sleeper.process.poll() is None
        assert "the sleeper exited with status -9; restarting it in 1 s" in capfd.readouterr().err
    finally:
        sleeper.stop()
        sleeper.wait(timeout=10)
    assert sleeper.process.returncode == -signal.SIGTERM  # stopped, and not started again
    assert not sleeper.thread.is_alive()


def test_the_demo_starts_its_worker_again_when_it_dies(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "sandbox.rundemo"]
    with (tmp_path / "demo.err").open("w") as err:
        demo = subprocess.Popen(
            command, cwd=ROOT, env=demo_env, stdout=subprocess.DEVNULL, stderr=err
        )
    started: set[int] = set()
    try:
        assert wait_for(lambda: port_open(int(demo_env["PORT"])), 60)
        workers = lambda: {p for p in all_children_of(demo.pid) if " worker " in command_of(p)}  # noqa: E731
        (worker,) = workers()
        lost = descendants_of(worker) | {worker}
        for pid in lost:  # the worker and its pool, lost together
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: len(workers() - lost) == 1, 30)
        said = (tmp_path / "demo.err").read_text()
        assert "the worker exited with status -9; restarting it in 1 s" in said
        started = descendants_of(demo.pid)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
        wait_for(lambda: not any(alive(pid) for pid in started), 30)
        assert [command_of(pid) for pid in started if alive(pid)] == []  # the new one stopped too
    finally:
        for pid in started | descendants_of(demo.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        demo.kill()
        demo.wait()
