from __future__ import annotations

import factory
from django.utils import timezone

from disputes.models import Dispute, DisputeChannel
from tests.factories import InvoiceFactory


class DisputeFactory(factory.django.DjangoModelFactory):
    """A dispute row written straight to the table (services are tested on their own)."""

    class Meta:
        model = Dispute

    invoice = factory.SubFactory(InvoiceFactory)
    organization = factory.SelfAttribute("invoice.organization")
    customer = factory.SelfAttribute("invoice.customer")
    channel = DisputeChannel.DASHBOARD
    text = "We were charged 12.40 per unit, the contract says 11.00."
    currency = factory.SelfAttribute("invoice.currency")
    opened_at = factory.LazyFunction(timezone.now)
