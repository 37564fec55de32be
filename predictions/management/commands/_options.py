"""Option checks shared by the payment-model commands (the leading underscore keeps Django
from listing this module as a command)."""

from __future__ import annotations

from django.core.management.base import CommandError


def test_fraction_from_option(fraction: float) -> float:
    """--test-fraction as given, or a CommandError unless it lies strictly between 0 and 1."""
    if not 0.0 < fraction < 1.0:
        raise CommandError(f"--test-fraction must be between 0 and 1, got {fraction}")
    return fraction
