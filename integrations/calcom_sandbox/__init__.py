"""A stateful local stand-in for the Cal.com v2 API (see server.py); no Django required."""

from integrations.calcom_sandbox.server import (
    SANDBOX_API_KEY,
    SANDBOX_WEBHOOK_SECRET,
    CalcomSandbox,
)

__all__ = ["SANDBOX_API_KEY", "SANDBOX_WEBHOOK_SECRET", "CalcomSandbox"]
