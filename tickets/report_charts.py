"""The reports' charts as values a template only draws: bars and columns placed on a
plot with labelled axes and ticks, x labels spaced (and turned) so they never overlap,
and for every bar the desk-queue link that lists the requests behind it.

The links use the queue's own filters (``tickets.desk_forms.QueueFilterForm``): the
group (severity when filed, severity now, category, organization), the period as the
days a request was filed (``filed_from``/``filed_to``) or the days a breach or a
downgrade happened, and ``status=all`` so resolved and closed requests count too, as
they do in the reports. Read in the same time zone as the report, the queue then lists
exactly the requests the bar counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets import selectors

# The horizontal bar chart (compliance): labels left of the plot, values right of it.
BAR_CHART_WIDTH = 720.0
BAR_PLOT_LEFT = 170.0
BAR_PLOT_WIDTH = 400.0
BAR_ROW = 28.0
BAR_AXIS_SPACE = 44.0  # below the bars: tick labels and the axis title
PERCENT_TICKS = (0, 25, 50, 75, 100)
LABEL_CHARS = 24

# The column chart (breaches and downgrades per day or week).
TREND_PLOT_LEFT = 48.0  # the y axis, its tick labels and its title
TREND_PLOT_HEIGHT = 160.0
TREND_TOP = 8.0
TREND_MAX_PLOT_WIDTH = 640.0  # wider than this the chart scrolls sideways
TREND_MIN_SLOT = 12.0
TREND_MAX_SLOT = 36.0
# An x label ("30 Sep", "30 wrz") is at most about 34 px wide at the chart's 12 px; turned
# by 45° two labels stay apart when their slots are 19 px apart (the 13 px line height
# divided by sin 45°).
X_LABEL_WIDTH = 34.0
X_LABEL_ROTATED_GAP = 19.0
TREND_AXIS_SPACE_FLAT = 36.0
TREND_AXIS_SPACE_TURNED = 52.0

# The queue parameter of each compliance breakdown (the report keys of the page).
GROUP_PARAMETERS = {
    "original_severity": "original_severity",
    "severity": "severity",
    "category": "category",
    "organization": "organization",
}


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x of a tick on a horizontal axis, y on a vertical one
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    short_label: str
    value: float
    text: str
    y: float
    width: float
    missing: bool
    href: str
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    axis_label: str
    width: float = BAR_CHART_WIDTH
    plot_left: float = BAR_PLOT_LEFT
    plot_width: float = BAR_PLOT_WIDTH

    @property
    def axis_y(self) -> float:
        return len(self.bars) * BAR_ROW + 4

    @property
    def height(self) -> float:
        return self.axis_y + BAR_AXIS_SPACE

    @property
    def plot_right(self) -> float:
        return self.plot_left + self.plot_width

    @property
    def label_right(self) -> float:
        return self.plot_left - 10

    @property
    def value_x(self) -> float:
        return self.plot_right + 6

    @property
    def tick_bottom(self) -> float:
        return self.axis_y + 4

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16

    @property
    def axis_label_y(self) -> float:
        return self.axis_y + 34


def queue_link(**filters: str) -> str:
    """The desk queue narrowed by ``filters`` (every request, closed ones included)."""
    pairs = [(name, value) for name, value in filters.items() if value]
    return f"{reverse('desk:home')}?{urlencode([*pairs, ('status', selectors.STATUS_ANY)])}"


def filed_in(period: selectors.Period) -> dict[str, str]:
    return {"filed_from": period.start.isoformat(), "filed_to": period.end.isoformat()}


def short(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1].rstrip() + "…"


def compliance_chart(
    rows: Iterable[selectors.ComplianceRow], *, group: str, period: selectors.Period
) -> BarChart:
    """Horizontal bars of the share of first responses within target, 0–100 %, on an
    axis with ticks; each bar links to the requests filed in the period in its group."""
    parameter = GROUP_PARAMETERS[group]
    bars: list[Bar] = []
    for index, row in enumerate(rows):
        percent = row.percent
        if percent is None:
            text = _("nothing due yet")
            measured = _("nothing due yet")
        else:
            text = _("%(percent).0f %% of %(total)d") % {"percent": percent, "total": row.total}
            measured = _("%(percent).0f %% within target (%(met)d of %(total)d)") % {
                "percent": percent,
                "met": row.met,
                "total": row.total,
            }
        filed = _("%(count)d requests filed") % {"count": row.filed}
        bars.append(
            Bar(
                label=row.label,
                short_label=short(row.label),
                value=percent or 0.0,
                text=text,
                y=index * BAR_ROW,
                width=round(BAR_PLOT_WIDTH * (percent or 0.0) / 100, 2),
                missing=percent is None,
                href=queue_link(**{parameter: row.key}, **filed_in(period)),
                title=_("%(label)s: %(measured)s; %(filed)s. Show them in the queue.")
                % {"label": row.label, "measured": measured, "filed": filed},
            )
        )
    ticks = [
        Tick(round(BAR_PLOT_LEFT + BAR_PLOT_WIDTH * value / 100, 2), f"{value} %")
        for value in PERCENT_TICKS
    ]
    return BarChart(bars=bars, ticks=ticks, axis_label=_("First responses within target (%)"))


# --- Breaches and downgrades ---------------------------------------------------------------


def nice_ticks(peak: int, *, most: int = 5) -> list[int]:
    """Whole-number y ticks from 0 to at least ``peak``, a step of 1, 2 or 5 × 10ⁿ, at
    most ``most`` steps."""
    peak = max(peak, 1)
    step = 1
    for magnitude in (10**n for n in range(0, 12)):
        candidates = [m * magnitude for m in (1, 2, 5)]
        fitting = [c for c in candidates if math.ceil(peak / c) <= most]
        if fitting:
            step = fitting[0]
            break
    top = math.ceil(peak / step) * step
    return list(range(0, top + 1, step))


@dataclass(frozen=True, slots=True)
class Column:
    day: date  # the first day of the column's day or week
    label: str
    full_label: str
    breaches: int
    downgrades: int
    x: float
    bar_width: float
    breach_height: float
    downgrade_height: float
    show_label: bool
    breach_href: str
    downgrade_href: str

    @property
    def breach_y(self) -> float:
        return round(TREND_TOP + TREND_PLOT_HEIGHT - self.breach_height, 2)

    @property
    def downgrade_y(self) -> float:
        return round(TREND_TOP + TREND_PLOT_HEIGHT - self.downgrade_height, 2)

    @property
    def downgrade_x(self) -> float:
        return round(self.bar_width + 3, 2)

    @property
    def label_x(self) -> float:
        return round(self.bar_width + 1.5, 2)


@dataclass(frozen=True, slots=True)
class TrendChart:
    columns: list[Column]
    ticks: list[Tick]
    peak: int
    slot: float
    turned: bool
    axis_label: str
    plot_left: float = TREND_PLOT_LEFT

    @property
    def plot_top(self) -> float:
        return TREND_TOP

    @property
    def plot_bottom(self) -> float:
        return TREND_TOP + TREND_PLOT_HEIGHT

    @property
    def plot_height(self) -> float:
        return TREND_PLOT_HEIGHT

    @property
    def plot_width(self) -> float:
        return max(self.slot * len(self.columns), self.slot)

    @property
    def width(self) -> float:
        return self.plot_left + self.plot_width + 8

    @property
    def height(self) -> float:
        space = TREND_AXIS_SPACE_TURNED if self.turned else TREND_AXIS_SPACE_FLAT
        return self.plot_bottom + space

    @property
    def label_y(self) -> float:
        return self.plot_bottom + 14

    @property
    def axis_label_y(self) -> float:
        return round(TREND_TOP + TREND_PLOT_HEIGHT / 2, 2)


def label_layout(count: int, slot: float) -> tuple[int, bool]:
    """(every how many columns an x label is drawn, whether labels are turned 45°) so
    that no two labels overlap: flat when a slot holds a whole label, else turned, and
    as many slots skipped between labels as their width needs."""
    if slot >= X_LABEL_WIDTH:
        return 1, False
    return max(1, math.ceil(X_LABEL_ROTATED_GAP / slot)), True


def trend_chart(
    points: Sequence[selectors.TrendPoint], *, granularity: str, period: selectors.Period
) -> TrendChart:
    """Columns of breaches and downgrades per day or week on a y axis with whole-number
    ticks; each column links to the requests it counts."""
    ticks = nice_ticks(max([0] + [max(p.breaches, p.downgrades) for p in points]))
    top = ticks[-1]
    slot = min(TREND_MAX_SLOT, max(TREND_MIN_SLOT, TREND_MAX_PLOT_WIDTH / max(len(points), 1)))
    step, turned = label_layout(len(points), slot)
    bar_width = round((slot - 5) / 2, 2)
    days = timedelta(days=7 if granularity == "week" else 1)
    columns: list[Column] = []
    for index, point in enumerate(points):
        first, last = _within(point.start, point.start + days - timedelta(days=1), period)
        columns.append(
            Column(
                day=point.start,
                label=date_format(point.start, "j M"),
                full_label=_("week of %(day)s") % {"day": date_format(point.start, "DATE_FORMAT")}
                if granularity == "week"
                else date_format(point.start, "DATE_FORMAT"),
                breaches=point.breaches,
                downgrades=point.downgrades,
                x=round(TREND_PLOT_LEFT + index * slot, 2),
                bar_width=bar_width,
                breach_height=round(TREND_PLOT_HEIGHT * point.breaches / top, 2),
                downgrade_height=round(TREND_PLOT_HEIGHT * point.downgrades / top, 2),
                show_label=index % step == 0,
                breach_href=queue_link(
                    breached_from=first.isoformat(), breached_to=last.isoformat()
                ),
                downgrade_href=queue_link(
                    downgraded_from=first.isoformat(), downgraded_to=last.isoformat()
                ),
            )
        )
    y_ticks = [
        Tick(round(TREND_TOP + TREND_PLOT_HEIGHT * (1 - value / top), 2), str(value))
        for value in ticks
    ]
    return TrendChart(
        columns=columns,
        ticks=y_ticks,
        peak=top,
        slot=slot,
        turned=turned,
        axis_label=_("Count"),
    )


def _within(first: date, last: date, period: selectors.Period) -> tuple[date, date]:
    """A week's days cut to the period (the first week may start before it)."""
    return max(first, period.start), min(last, period.end)
