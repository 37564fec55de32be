"""The default dunning policy every organization starts with (plain data, so the data
migration that gives existing organizations their policy uses exactly these values).

Cadence after common AR practice (see docs/reminders.md): a friendly heads-up before the
due date, polite notes in the first week, firm from day 15, a final notice at day 45.
High-risk customers hear earlier and firmer, low-risk customers later and lighter.
"""

from __future__ import annotations

DEFAULT_POLICY_NAME = "Default dunning policy"

# key, name, offset, tone, requires_approval, high (shift, tone), low (shift, tone)
DEFAULT_STEPS: list[dict] = [
    {
        "key": "d-3",
        "name": "Friendly heads-up",
        "offset_days": -3,
        "tone": "friendly",
        "requires_approval": False,
        "high_risk_shift_days": -4,
        "high_risk_tone": "",
        "low_risk_shift_days": 2,
        "low_risk_tone": "",
    },
    {
        "key": "d+1",
        "name": "Payment overdue",
        "offset_days": 1,
        "tone": "friendly",
        "requires_approval": False,
        "high_risk_shift_days": 0,
        "high_risk_tone": "",
        "low_risk_shift_days": 2,
        "low_risk_tone": "",
    },
    {
        "key": "d+7",
        "name": "Second reminder",
        "offset_days": 7,
        "tone": "friendly",
        "requires_approval": False,
        "high_risk_shift_days": -2,
        "high_risk_tone": "firm",
        "low_risk_shift_days": 3,
        "low_risk_tone": "",
    },
    {
        "key": "d+15",
        "name": "Firm reminder",
        "offset_days": 15,
        "tone": "firm",
        "requires_approval": True,
        "high_risk_shift_days": -3,
        "high_risk_tone": "",
        "low_risk_shift_days": 5,
        "low_risk_tone": "friendly",
    },
    {
        "key": "d+30",
        "name": "Firm notice",
        "offset_days": 30,
        "tone": "firm",
        "requires_approval": True,
        "high_risk_shift_days": -5,
        "high_risk_tone": "",
        "low_risk_shift_days": 7,
        "low_risk_tone": "",
    },
    {
        "key": "d+45",
        "name": "Final notice",
        "offset_days": 45,
        "tone": "final",
        "requires_approval": True,
        "high_risk_shift_days": -7,
        "high_risk_tone": "",
        "low_risk_shift_days": 10,
        "low_risk_tone": "",
    },
]
