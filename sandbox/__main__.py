"""`python -m sandbox SCENARIO [--port N] [--host 127.0.0.1]`: serve one scenario until killed."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sandbox.emulator import run_emulator

SCENARIOS = Path(__file__).parent / "scenarios"


def resolve(name: str) -> Path:
    """A path, or the name of a bundled scenario ("demo", "test")."""
    path = Path(name)
    if path.exists():
        return path
    bundled = SCENARIOS / f"{name}.json"
    if bundled.exists():
        return bundled
    raise SystemExit(f"no scenario {name!r} (and no {bundled})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("scenario", help="a scenario JSON file, or demo / test")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with run_emulator(resolve(args.scenario), args.host, args.port) as emulator:
        print(emulator.url, flush=True)  # a parent process reads this line to find the port
        done.wait()
    sys.exit(0)


if __name__ == "__main__":
    main()
