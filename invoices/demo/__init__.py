"""Demo data: a seeded, learnable two-year AR history (generator) loaded in bulk by
``invoices.services.demo.demo_seed``. See docs/demo-data.md."""

from __future__ import annotations

from invoices.demo.generator import DemoChunk, DemoSpec, exchange_rates, generate

__all__ = ["DemoChunk", "DemoSpec", "exchange_rates", "generate"]
