"""A service under cProfile, for ``bench/import_enterprises.py --profile``:

    python -m bench.profiled_server OUT.prof services.enterprises.main:create_app --port N

uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler that kills the
process before ``python -m cProfile`` writes its file, so SIGTERM here becomes ``SystemExit``.
"""

from __future__ import annotations

import cProfile
import signal
import sys

import uvicorn


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    out, app, _, port = sys.argv[1:5]
    signal.signal(signal.SIGTERM, _exit)
    profile = cProfile.Profile()
    profile.enable()
    try:
        uvicorn.run(app, factory=True, host="127.0.0.1", port=int(port), log_level="warning")
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
