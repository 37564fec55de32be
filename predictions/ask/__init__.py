"""Ask PayPredict: plain-English questions answered from the BI views (docs/ask.md)."""

from __future__ import annotations
