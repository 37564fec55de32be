"""Demo data: a seeded, learnable two-year AR history (generator) loaded in bulk by
``invoices.services.demo.demo_seed``. See docs/demo-data.md.

Modules: ``spec`` (what to generate), ``world`` (customers, issue dates, numbers, exchange
rates), ``generator`` (per-chunk invoices, lines and payment behaviour), ``payments``
(remittances, failures, retries, refunds), ``attributes`` (dispute notes, voids,
write-offs), ``disputes`` (note templates), ``catalog`` (vocabularies), ``dates``.
"""

from __future__ import annotations

from invoices.demo.generator import generate
from invoices.demo.spec import DemoChunk, DemoSpec
from invoices.demo.world import exchange_rates

__all__ = ["DemoChunk", "DemoSpec", "exchange_rates", "generate"]
