"""Writes of the reminders app. Each module is one sub-domain: policies, planning, drafting,
review, sending, promises, outcomes."""

from __future__ import annotations
