"""`make demo`'s last step: the emulator, a Celery worker and beat, a first sync, the server.

The worker and beat are started again whenever they exit (a crash, the kernel's OOM killer,
a broker fault that kills the worker), after a short back-off, as systemd's Restart=always
does in a deployment (README, "Running the worker and beat"). Every child process is stopped
when the server stops: Ctrl-C, or SIGTERM from whatever ran `make demo` (a supervisor,
`timeout`, `kill`). Development only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Under VAR_DIR: the demo users, from seed_demo --print-later until print_demo_users.
USERS_FILE = "demo-users.txt"
PYTHON = sys.executable
CELERY = str(Path(PYTHON).parent / "celery")


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    command = [PYTHON, "-m", "sandbox", "demo", "--port", os.environ.get("EMULATOR_PORT", "0")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    # Always a pipe (stdout=PIPE); without one, the check below reports the emulator silent.
    url = process.stdout.readline().strip() if process.stdout is not None else ""
    if not url.startswith("http://127.0.0.1:"):
        process.terminate()
        sys.exit(f"the exchange emulator did not start (it said {url!r})")
    return process, url


# A child that ran at least this long was healthy: its next restart waits the least again.
HEALTHY_SECONDS = 30.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


class Supervised:
    """A child process started again, after a back-off, whenever it exits, until stop().

    The back-off doubles while the child keeps dying young (a crash at start-up would
    otherwise spin), and is reset once it has run for HEALTHY_SECONDS.
    """

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name, self.command, self.env = name, command, env
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # stop() never races a restart
        self.process = self._spawn()
        self.thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)
        self.thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, cwd=ROOT, env=self.env)

    def _watch(self) -> None:
        backoff = FIRST_BACKOFF_SECONDS
        while True:
            started = time.monotonic()
            status = self.process.wait()
            if time.monotonic() - started >= HEALTHY_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            if self.stopping.is_set():
                return
            print(f"the {self.name} exited with status {status}; restarting it in {backoff:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
            if self.stopping.wait(backoff):
                return
            with self.lock:
                if self.stopping.is_set():
                    return
                self.process = self._spawn()
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def stop(self) -> None:
        """No more restarts, and SIGTERM to the running child (stop_children waits for it)."""
        with self.lock:
            self.stopping.set()
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        self.thread.join(timeout)
        stop_process(self.process, timeout)


def start_workers(env: dict[str, str]) -> list[Supervised]:
    worker = [CELERY, "-A", "config", "worker", "-Q", "sync,risk", "-c", "2", "-l", "WARNING"]
    # No schedule file: the schedule is in the database (django-celery-beat's scheduler).
    beat = [CELERY, "-A", "config", "beat", "-l", "WARNING"]
    return [Supervised("worker", worker, env), Supervised("beat", beat, env)]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


SERVER_START_SECONDS = 60.0


def wait_until_answering(
    url: str, server: subprocess.Popen, timeout: float = SERVER_START_SECONDS
) -> bool:
    """Whether the server answers ``url`` (any HTTP status) before it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http URL)
                return True
        except urllib.error.HTTPError:
            return True  # an answer all the same
        except OSError:
            time.sleep(0.2)
    print(f"the server did not answer {url}; the demo users are not printed", file=sys.stderr)
    return False


def print_demo_users(var_dir: Path) -> None:
    """Print, last, the users seed_demo --print-later kept (sandbox.demo), then forget them."""
    path = var_dir / USERS_FILE
    if path.exists():
        print(path.read_text(), end="", flush=True)
        path.unlink()


def stop_on_sigterm(signum: int, frame: object) -> None:
    # Python ends on SIGTERM without running `finally`, which would leave the emulator,
    # worker, beat and server running: turn it into the Ctrl-C path.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    emulator, url = start_emulator()
    env = {**os.environ, "DEBUG": "1", "EXCHANGE_EMULATOR_URL": url}
    # Alert mails go to files, so that the console keeps the demo users last (issue 15).
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    print(f"Exchange emulator (demo scenario) at {url}")
    print("Alert e-mails are written to files under var/mail/")
    supervised = start_workers(env)
    children: list[subprocess.Popen] = [emulator]
    try:
        manage(env, "sync_all_now")
        address = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        # A child like the others, so that stopping the demo stops it the same way.
        server = [PYTHON, "manage.py", "runserver", "--noreload", address]
        children.append(subprocess.Popen(server, cwd=ROOT, env=env))
        if wait_until_answering(f"http://{address}/health/", children[-1]):
            print(f"Counterweight runs at http://{address}/ (Ctrl-C stops everything)", flush=True)
            print_demo_users(Path(os.environ.get("VAR_DIR") or ROOT / "var"))
        children[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_children(children, supervised)


def stop_children(children: list[subprocess.Popen], supervised: list[Supervised]) -> None:
    """SIGTERM to each (Celery finishes its task in hand), then SIGKILL to any still running."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
    for each in supervised:
        each.stop()
    for child in children:
        child.send_signal(signal.SIGTERM)
    for each in supervised:
        each.wait(timeout=20)
    for child in children:
        stop_process(child, timeout=20)


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    main()
