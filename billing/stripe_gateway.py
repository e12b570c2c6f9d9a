"""The one place that talks to Stripe (or to localstripe in development and tests).

``STRIPE_API_KEY`` set: the real Stripe (Checkout offered for top-ups).
``STRIPE_API_BASE`` set: a Stripe-compatible server such as localstripe; a test key is used
when no key is set, and top-ups are paid with a test card from the admin.
Neither set: online payments are not configured.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from billing.errors import PaymentsNotConfigured

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams

LOCAL_TEST_KEY = "sk_test_askpro_local"
LOCAL_TEST_CARD = "pm_card_visa"


def is_configured() -> bool:
    return bool(settings.STRIPE_API_KEY or settings.STRIPE_API_BASE)


def is_local() -> bool:
    """True when a local stand-in (localstripe) answers instead of Stripe."""
    return bool(settings.STRIPE_API_BASE)


def checkout_available() -> bool:
    """Stripe Checkout exists only on the real Stripe (localstripe lacks it)."""
    return bool(settings.STRIPE_API_KEY) and not settings.STRIPE_API_BASE


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if api_base:
        kwargs["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **kwargs)


def client() -> stripe.StripeClient:
    if not is_configured():
        raise PaymentsNotConfigured()
    key = settings.STRIPE_API_KEY or LOCAL_TEST_KEY
    return _client(key, settings.STRIPE_API_BASE or "")


def restrict_to_cards(params: PaymentIntentCreateParams) -> None:
    """Let a payment intent take cards only.

    The API version the SDK pins (2026-10-28.endive) refuses ``payment_method_types`` with a 400
    (payment_method_types_no_longer_supported); ``allowed_payment_method_types`` replaces it.
    localstripe speaks the older API, refuses the new name and takes only cards anyway.
    """
    if not is_local():
        params["allowed_payment_method_types"] = ["card"]


def id_of(value: Any) -> str:
    """An expandable field may be an id or an embedded object (localstripe embeds)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(getattr(value, "id", "") or "")
