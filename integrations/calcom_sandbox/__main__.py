"""``python -m integrations.calcom_sandbox [--port 5555]``: run the Cal.com sandbox in the foreground."""

from __future__ import annotations

import argparse
import logging

from integrations.calcom_sandbox.server import SANDBOX_API_KEY, CalcomSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Cal.com v2 sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5555)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s calcom-sandbox %(message)s")
    sandbox = CalcomSandbox(args.host, args.port)
    print(f"Cal.com sandbox on {sandbox.url} (API key {SANDBOX_API_KEY}); control API under /_sandbox/", flush=True)
    sandbox.serve_forever()


if __name__ == "__main__":
    main()
