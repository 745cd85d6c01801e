"""`make demo`'s last step: the emulator, a Celery worker and beat, a first sync, the server.

Every child process is stopped when the server stops: Ctrl-C, or SIGTERM from whatever ran
`make demo` (a supervisor, `timeout`, `kill`). Development only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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


def start_workers(env: dict[str, str]) -> list[subprocess.Popen]:
    worker = [CELERY, "-A", "config", "worker", "-Q", "sync,risk", "-c", "2", "-l", "WARNING"]
    # No schedule file: the schedule is in the database (django-celery-beat's scheduler).
    beat = [CELERY, "-A", "config", "beat", "-l", "WARNING"]
    return [subprocess.Popen(command, cwd=ROOT, env=env) for command in (worker, beat)]


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def stop_on_sigterm(signum: int, frame: object) -> None:
    # Python ends on SIGTERM without running `finally`, which would leave the emulator,
    # worker, beat and server running: turn it into the Ctrl-C path.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    emulator, url = start_emulator()
    env = {**os.environ, "DEBUG": "1", "EXCHANGE_EMULATOR_URL": url}
    print(f"Exchange emulator (demo scenario) at {url}")
    children = [emulator, *start_workers(env)]
    try:
        manage(env, "sync_all_now")
        address = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        print(f"Counterweight runs at http://{address}/ (Ctrl-C stops everything)")
        # A child like the others, so that stopping the demo stops it the same way.
        server = [PYTHON, "manage.py", "runserver", "--noreload", address]
        children.append(subprocess.Popen(server, cwd=ROOT, env=env))
        children[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_children(children)


def stop_children(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each (Celery finishes its task in hand), then SIGKILL to any still running."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
