"""`python -m bot.demo [--port 8080] [--host 127.0.0.1]`: serve the demo API for manual trials."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.demo.api_server import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, DemoApiServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.demo", description="Serve the MetaKraftwerk demo API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for any (default 8080)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return serve_forever(port=args.port, host=args.host, latency=args.latency)


def serve_forever(port: int = 8080, host: str = "127.0.0.1", latency: float = 0.0) -> int:
    """Serve the demo API in this thread until Ctrl-C; 1 when the port cannot be used."""
    try:
        server = DemoApiServer(host=host, port=port)
    except OSError as exc:
        print(f"cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    server.switches.latency = latency
    print(f"MetaKraftwerk demo API on {server.url}")
    print(f"  METAKRAFTWERK_URL={server.url}")
    print(f"  log in as {DEMO_EMAIL} / {DEMO_PASSWORD}, or use METAKRAFTWERK_TOKEN={DEMO_TOKEN}")
    print("  Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
