"""Calendar arithmetic on int days since 1970-01-01 (numpy's datetime64[D] epoch), and the
payment-run habits that move payment days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

EPOCH = dt.date(1970, 1, 1)


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0; 1970-01-01 was a Thursday."""
    return (np.asarray(days) + 3) % 7


def month(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    )


def year(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def business_day(days: np.ndarray) -> np.ndarray:
    wd = weekday(days)
    return days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def last_business_day_of_month(days: np.ndarray) -> np.ndarray:
    month = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]")
    last = ((month + 1).astype("datetime64[D]") - 1).astype(np.int64)
    wd = weekday(last)
    return last - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def mid_month(days: np.ndarray) -> np.ndarray:
    """The 15th of the month, moved back to Friday when it falls on a weekend."""
    month = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]")
    mid = (month.astype("datetime64[D]") + 14).astype(np.int64)
    wd = weekday(mid)
    return mid - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))


def apply_habit(
    pay: np.ndarray, habit: np.ndarray, run_weekday: np.ndarray, *, weekend_ok: np.ndarray
) -> np.ndarray:
    """Move intended payment days onto the customer's payment run: the nearest run day
    (weekly on one weekday, or twice a month on the 15th and the last business day), so
    runs cluster payments without shifting a customer's average delay much."""
    step = (run_weekday - weekday(pay)) % 7
    weekly = pay + np.where(step > 3, step - 7, step)
    runs = [mid_month(pay - 31), last_business_day_of_month(pay - 31), mid_month(pay)]
    runs += [last_business_day_of_month(pay), mid_month(pay + 31)]
    distance = np.abs(np.stack(runs) - pay)
    twice_monthly = np.stack(runs)[distance.argmin(axis=0), np.arange(pay.size)]
    ad_hoc = np.where(weekend_ok, pay, business_day(pay))
    return np.select(
        [habit == "weekly_run", habit == "month_end_run"], [weekly, twice_monthly], ad_hoc
    )


def local_to_utc(days: np.ndarray, seconds: np.ndarray, time_zone: str) -> np.ndarray:
    """Local wall-clock day + seconds in ``time_zone`` as UTC epoch seconds (int64)."""
    naive = pd.to_datetime(np.asarray(days, dtype=np.int64) * 86400 + seconds, unit="s")
    local = pd.DatetimeIndex(naive).tz_localize(
        time_zone, ambiguous=np.zeros(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return local.as_unit("s").asi8


def iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()
