"""Benchmark the business-hours calendars (severity/calendars.py) on the POLICY calendars.

Run from the project root:

    .venv/bin/python bench/calendars.py [--n 100000] [--stepping-n 300] [--seed 20260101]

Prints exactly one JSON line:

    {"benchmark": "calendars", "n": N, "results": [{"calendar": ..., "add_us": ...,
     "between_us": ..., "stepping_add_us": ..., "speedup": ...}, ...]}

Method: for each calendar, N random starts (whole seconds, uniform over 2026) and N
horizons (whole seconds, uniform in (0, 45] working hours), fixed seed. Each call is timed
on its own with ``time.perf_counter_ns`` and the figure is the median, in microseconds;
the timer's own cost (about 0.1 µs) is included, so the figures are slightly pessimistic.
``between`` is timed on ``(start, add(start, horizon))`` so it spans the same horizons.

``stepping_add_us`` is the median of a naive reference that walks minute by minute and
converts every minute to local time (what the closed form replaces), on a smaller sample
of minute-aligned starts and horizons; its answers are checked against ``add``.
``speedup`` is ``stepping_add_us / add_us``.

Targets: ``add_us`` and ``between_us`` ≤ 20 on a slow 2-core machine, ``speedup`` ≥ 100.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from severity.calendars import BusinessCalendar, Window

HORIZON = dt.timedelta(hours=45)  # C: 3 business days of 15 hours (POL-SLA-1, POL-SLA-3)
YEAR_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YEAR_SECONDS = 365 * 86_400
MINUTE = dt.timedelta(minutes=1)


def policy_calendars() -> list[BusinessCalendar]:
    """The four calendars seeded from POLICY.md (POL-SLA-3, POL-SLA-4)."""
    every_day = range(7)
    weekdays = range(5)
    return [
        BusinessCalendar.always_open(name="24x7", tz="UTC"),
        BusinessCalendar(
            "Asia/Shanghai",
            [Window(day, dt.time(9), None) for day in every_day],
            name="B/C technical",
        ),
        BusinessCalendar(
            "Asia/Shanghai",
            [Window(day, dt.time(9), dt.time(17)) for day in weekdays],
            name="Billing",
        ),
        BusinessCalendar(
            "Europe/Warsaw",
            [Window(day, dt.time(9), dt.time(17)) for day in weekdays],
            name="Pre-sales (Europe/Warsaw)",
        ),
    ]


def stepping_is_open(cal: BusinessCalendar, tz: ZoneInfo, instant: dt.datetime) -> bool:
    """Naive wall-clock check of one instant (fine for these calendars' whole hours)."""
    local = instant.astimezone(tz)
    day = local.date()
    if day in cal.holidays:
        return False
    weekday = cal.extra_day_template if day in cal.extra_working_days else day.weekday()
    clock = local.time().replace(tzinfo=None)
    return any(
        w.weekday == weekday and w.start <= clock and (w.end is None or clock < w.end)
        for w in cal.windows
    )


def stepping_add(cal: BusinessCalendar, start: dt.datetime, work_minutes: int) -> dt.datetime:
    """``cal.add`` the slow way: one minute at a time (start and work in whole minutes)."""
    tz = cal.tz
    instant = start
    if work_minutes == 0:
        while not stepping_is_open(cal, tz, instant):
            instant += MINUTE
        return instant
    left = work_minutes
    while True:
        if stepping_is_open(cal, tz, instant):
            left -= 1
            if left == 0:
                return instant + MINUTE
        instant += MINUTE


def median_us(samples_ns: list[int]) -> float:
    return round(statistics.median(samples_ns) / 1000, 3)


def bench_calendar(cal: BusinessCalendar, n: int, stepping_n: int, seed: int) -> dict[str, object]:
    rng = random.Random(f"{seed}:{cal.name}")
    starts = [YEAR_START + dt.timedelta(seconds=rng.randrange(YEAR_SECONDS)) for _ in range(n)]
    horizon_s = int(HORIZON.total_seconds())
    works = [dt.timedelta(seconds=rng.randint(1, horizon_s)) for _ in range(n)]

    clock = time.perf_counter_ns
    add = cal.add
    add_ns: list[int] = []
    ends: list[dt.datetime] = []
    for start, work in zip(starts, works, strict=True):
        t0 = clock()
        end = add(start, work)
        t1 = clock()
        add_ns.append(t1 - t0)
        ends.append(end)

    between = cal.between
    between_ns: list[int] = []
    for start, end, work in zip(starts, ends, works, strict=True):
        t0 = clock()
        elapsed = between(start, end)
        t1 = clock()
        between_ns.append(t1 - t0)
        if elapsed != work:
            raise AssertionError(f"{cal.name}: between({start}, {end}) = {elapsed} != {work}")

    stepping_ns: list[int] = []
    for _ in range(stepping_n):
        start = YEAR_START + dt.timedelta(minutes=rng.randrange(YEAR_SECONDS // 60))
        minutes = rng.randint(1, horizon_s // 60)
        t0 = clock()
        slow = stepping_add(cal, start, minutes)
        t1 = clock()
        stepping_ns.append(t1 - t0)
        fast = add(start, dt.timedelta(minutes=minutes))
        if slow != fast:
            raise AssertionError(f"{cal.name}: stepping {slow} != closed form {fast}")

    add_us = median_us(add_ns)
    stepping_us = median_us(stepping_ns)
    return {
        "calendar": cal.name,
        "add_us": add_us,
        "between_us": median_us(between_ns),
        "stepping_add_us": stepping_us,
        "speedup": round(stepping_us / add_us, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="calls per calendar and op")
    parser.add_argument("--stepping-n", type=int, default=300, help="stepping reference calls")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    results = [
        bench_calendar(cal, args.n, args.stepping_n, args.seed) for cal in policy_calendars()
    ]
    print(json.dumps({"benchmark": "calendars", "n": args.n, "results": results}))


if __name__ == "__main__":
    main()
