"""``python -m integrations.calcom_sandbox [--port 5555]``: run the Cal.com sandbox in the foreground.

By default it delivers booking webhooks to the demo tenant on the local AskPro
(``http://127.0.0.1:$ASKPRO_PORT/api/calcom/webhook/salon-schmidt``, signed with the demo secret);
``--webhook-url ""`` turns that off.
"""

from __future__ import annotations

import argparse
import logging
import os

from integrations.calcom_sandbox.server import (
    SANDBOX_API_KEY,
    SANDBOX_WEBHOOK_SECRET,
    CalcomSandbox,
)


def main() -> None:
    askpro_port = os.environ.get("ASKPRO_PORT", "8000")
    parser = argparse.ArgumentParser(description="Local Cal.com v2 sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5555)
    parser.add_argument("--webhook-url", default=os.environ.get(
        "CALCOM_SANDBOX_WEBHOOK_URL", f"http://127.0.0.1:{askpro_port}/api/calcom/webhook/salon-schmidt"))
    parser.add_argument("--webhook-secret", default=os.environ.get("CALCOM_SANDBOX_WEBHOOK_SECRET", SANDBOX_WEBHOOK_SECRET))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s calcom-sandbox %(message)s")
    sandbox = CalcomSandbox(args.host, args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret)
    print(f"Cal.com sandbox on {sandbox.url} (API key {SANDBOX_API_KEY}); control API under /_sandbox/; "
          f"webhooks to {args.webhook_url or '(none)'}", flush=True)
    sandbox.serve_forever()


if __name__ == "__main__":
    main()
