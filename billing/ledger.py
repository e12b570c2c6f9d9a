"""The ledger: the one way to move a balance (public: other billing modules and apps use this,
never a private helper).

A caller locks the account row with :func:`lock_account` inside ``transaction.atomic`` and books
rows with :func:`post` while holding the lock, so concurrent charges and top-ups never lose an
update and ``balance_cents`` always equals the sum of the account's ledger rows. Crossing the
low-balance threshold emits ``LowBalance``; crossing the auto top-up threshold owes a top-up
(an outbox effect), both in the caller's transaction.
"""

from __future__ import annotations

import uuid

from askpro import hooks, outbox
from billing.events import LowBalance
from billing.models import BillingAccount, Transaction

AUTO_TOPUP_EFFECT = "billing.auto_topup"


def lock_account(account_id: int) -> BillingAccount:
    """The account row locked for update (with its plan and tenant); call inside a transaction."""
    return BillingAccount.objects.select_for_update().select_related("plan", "tenant").get(pk=account_id)


def post(
    account: BillingAccount,
    *,
    kind: str,
    amount_cents: int,
    idempotency_key: str,
    reference_type: str = "",
    reference_id: str = "",
    description: str = "",
    actor: str = "system",
) -> Transaction:
    """Append one ledger row to a LOCKED account and move its balance (caller holds the lock).

    A repeated ``idempotency_key`` returns the first row and changes nothing.
    """
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    old_balance = account.balance_cents
    new_balance = old_balance + int(amount_cents)
    txn = Transaction.objects.create(
        account=account, kind=kind, amount_cents=int(amount_cents), balance_after_cents=new_balance,
        currency=account.currency, reference_type=reference_type, reference_id=str(reference_id),
        description=description[:255], actor=actor[:200], idempotency_key=idempotency_key,
    )
    account.balance_cents = new_balance
    _after_balance_change(account, old_balance, new_balance)
    BillingAccount.objects.filter(pk=account.pk).update(
        balance_cents=new_balance, low_balance_notified=account.low_balance_notified
    )
    return txn


def _after_balance_change(account: BillingAccount, old: int, new: int) -> None:
    """One low-balance event per downward crossing; the flag re-arms above the threshold."""
    threshold = account.low_balance_threshold_cents
    if new < threshold and not account.low_balance_notified:
        account.low_balance_notified = True
        hooks.emit(LowBalance(
            tenant_id=account.tenant_id, account_id=account.pk, balance_cents=new, threshold_cents=threshold,
        ))
    elif new >= threshold and account.low_balance_notified:
        account.low_balance_notified = False
    if (
        account.auto_topup_enabled
        and account.stripe_payment_method_id
        and new < account.auto_topup_threshold_cents
        and old >= account.auto_topup_threshold_cents
    ):
        # Durable: a crossing noticed in a committed charge must not lose its top-up to a broker outage.
        outbox.enqueue(
            AUTO_TOPUP_EFFECT, key=f"{AUTO_TOPUP_EFFECT}:{account.pk}:{uuid.uuid4().hex}",
            payload={"account_id": account.pk}, queue="billing",
        )
