"""Debounced rescoring when the ledger changes (F14).

A burst of changes (an import, a payment run allocating to many invoices) must not start
a scoring run per change. Each change adds its invoice/customer ids to a Redis set per
organization; the first change of a quiet period also sets a "scheduled" flag and enqueues
one ``rescore_pending_task`` with a countdown. That task clears the flag, takes the
collected ids atomically and rescores the affected customers' open invoices in one
``invoices_score`` call (a customer's history changes the features of all its invoices).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

import redis
from django.conf import settings

from invoices.models import OPEN_STATUSES, Invoice, Payment
from ml.registry import get_active
from paypredict_project.tenancy.models import Organization
from predictions.services.scoring import NoActiveModel, invoices_score

logger = logging.getLogger(__name__)

# How long to wait after the first change before rescoring (seconds).
DEFAULT_DEBOUNCE_SECONDS = 30
# The collected ids outlive a lost task message by this long, then expire.
KEY_TTL_SECONDS = 24 * 3600


def debounce_seconds() -> int:
    return int(getattr(settings, "PREDICTIONS_RESCORE_DEBOUNCE_SECONDS", DEFAULT_DEBOUNCE_SECONDS))


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _key(organization_id: int, part: str) -> str:
    # The cache key prefix keeps deployments (and parallel test runs) apart on one Redis.
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"{prefix}:predictions:rescore:{organization_id}:{part}"


def rescore_request(
    *,
    organization_id: int,
    invoice_ids: Iterable[int] = (),
    customer_ids: Iterable[int] = (),
    everything: bool = False,
) -> bool:
    """Remember what changed; schedule one rescoring task per quiet period.

    ``everything``: a bulk load changed an unknown set of rows (CSV import, demo seeding);
    the run then scores every open invoice (unchanged ones are skipped by fingerprint).
    Returns True when this call scheduled the task.
    """
    from predictions.tasks import rescore_pending_task

    invoice_ids = [int(i) for i in invoice_ids]
    customer_ids = [int(i) for i in customer_ids]
    if not invoice_ids and not customer_ids and not everything:
        return False
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    if everything:
        pipe.set(_key(organization_id, "all"), "1", ex=KEY_TTL_SECONDS)
    if invoice_ids:
        pipe.sadd(_key(organization_id, "invoices"), *invoice_ids)
        pipe.expire(_key(organization_id, "invoices"), KEY_TTL_SECONDS)
    if customer_ids:
        pipe.sadd(_key(organization_id, "customers"), *customer_ids)
        pipe.expire(_key(organization_id, "customers"), KEY_TTL_SECONDS)
    delay = debounce_seconds()
    # The flag expires on its own if the task message is lost, so changes are never stuck.
    pipe.set(_key(organization_id, "scheduled"), "1", nx=True, ex=max(delay * 4, 60))
    *_, scheduled = pipe.execute()
    if scheduled:
        rescore_pending_task.apply_async(args=[organization_id], countdown=delay)
    return bool(scheduled)


def rescore_pending_clear(*, organization_id: int) -> None:
    """Forget collected changes and the scheduled flag (a reset; a full rescoring leaves them,
    and the debounced run then finds those invoices unchanged and skips them)."""
    redis_client().delete(
        *(_key(organization_id, p) for p in ("invoices", "customers", "all", "scheduled"))
    )


def pending_ids(*, organization_id: int) -> tuple[set[int], set[int]]:
    client = redis_client()
    invoices = {int(v) for v in client.smembers(_key(organization_id, "invoices"))}
    customers = {int(v) for v in client.smembers(_key(organization_id, "customers"))}
    return invoices, customers


def pending_everything(*, organization_id: int) -> bool:
    return bool(redis_client().exists(_key(organization_id, "all")))


def _take_pending(organization_id: int) -> tuple[set[int], set[int], bool]:
    client = redis_client()
    pipe = client.pipeline(transaction=True)
    # Clear the flag first: a change arriving while we score schedules the next run.
    pipe.delete(_key(organization_id, "scheduled"))
    pipe.smembers(_key(organization_id, "invoices"))
    pipe.delete(_key(organization_id, "invoices"))
    pipe.smembers(_key(organization_id, "customers"))
    pipe.delete(_key(organization_id, "customers"))
    pipe.delete(_key(organization_id, "all"))
    _, invoices, _, customers, _, everything = pipe.execute()
    return {int(v) for v in invoices}, {int(v) for v in customers}, bool(everything)


def rescore_pending_run(*, organization: Organization) -> int:
    """One debounced pass: rescore what changed since the task was scheduled."""
    invoice_ids, customer_ids, everything = _take_pending(organization.pk)
    if everything:
        try:
            return invoices_score(organization=organization).scored
        except NoActiveModel:
            return 0
    if not invoice_ids and not customer_ids:
        return 0
    customer_ids |= set(
        Invoice.objects.filter(organization=organization, pk__in=invoice_ids).values_list(
            "customer_id", flat=True
        )
    )
    affected = set(
        Invoice.objects.filter(
            organization=organization, customer_id__in=customer_ids, status__in=OPEN_STATUSES
        ).values_list("pk", flat=True)
    )
    try:
        result = invoices_score(organization=organization, invoice_ids=affected | invoice_ids)
    except NoActiveModel:
        return 0
    return result.scored


def on_invoice_changed(*, invoice_id: int, organization_id: int) -> None:
    if _has_active_model(organization_id):
        rescore_request(organization_id=organization_id, invoice_ids=[invoice_id])


def on_payment_changed(*, payment_id: int, organization_id: int) -> None:
    if not _has_active_model(organization_id):
        return
    customer_id = (
        Payment.objects.filter(pk=payment_id, organization_id=organization_id)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is not None:
        rescore_request(organization_id=organization_id, customer_ids=[customer_id])


def on_ledger_imported(*, organization_id: int, kind: str) -> None:
    """A bulk load (CSV import of invoices/payments/customers, demo seeding) names no rows:
    rescore every open invoice of the organization once the burst is over."""
    if _has_active_model(organization_id):
        rescore_request(organization_id=organization_id, everything=True)


def _has_active_model(organization_id: int) -> bool:
    # Without a model there is nothing to rescore (and nothing to enqueue).
    organization = Organization.objects.filter(pk=organization_id).first()
    return organization is not None and get_active(organization) is not None
