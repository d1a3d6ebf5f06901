"""The merchant's 90-day chart: charges completed and declined, revenue.

:func:`daily_activity` reads the core's rows (a charge counts as completed on
the day its payment completed, as declined on the day the ledger recorded the
decline); :func:`render_svg` draws the result as a self-contained SVG string
(no script, no external resource), so the Django admin and the Saleor App's
Dashboard pages show the same picture without a JavaScript library. Days are
the current Django time zone's calendar days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from okpay_gateway.models import Payment, PaymentEvent, PaymentEventKind
from okpay_gateway.payments import CAPTURED_STATUSES

DEFAULT_DAYS = 90

_COMPLETED = "#2e7d32"
_DECLINED = "#c62828"
_SERIES = ("#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037")


@dataclass(frozen=True)
class DailyActivity:
    """One row per calendar day, oldest first, for ``days`` days ending today."""

    days: list[date]
    completed: list[int]
    declined: list[int]
    revenue: dict[str, list[Decimal]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, Decimal]:
        return {code: sum(values, Decimal(0)) for code, values in self.revenue.items()}


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def daily_activity(
    days: int = DEFAULT_DAYS, *, today: date | None = None, contracts=None
) -> DailyActivity:
    """Counts and revenue per day; ``contracts`` (a queryset) narrows them."""
    last = today or timezone.localdate()
    first = last - timedelta(days=days - 1)
    since, until = _start_of(first), _start_of(last + timedelta(days=1))
    calendar = [first + timedelta(days=offset) for offset in range(days)]
    index = {day: position for position, day in enumerate(calendar)}

    paid = Payment.objects.filter(
        completed_at__gte=since,
        completed_at__lt=until,
        status__in=CAPTURED_STATUSES,
    )
    declines = PaymentEvent.objects.filter(
        kind=PaymentEventKind.CHARGE_DECLINED,
        created_at__gte=since,
        created_at__lt=until,
        payment__isnull=False,
    )
    if contracts is not None:
        paid = paid.filter(contract__in=contracts)
        declines = declines.filter(payment__contract__in=contracts)

    completed = [0] * days
    declined = [0] * days
    revenue: dict[str, list[Decimal]] = {}
    for row in (
        paid.annotate(day=TruncDate("completed_at"))
        .values("day", "currency")
        .annotate(count=Count("pk"), total=Sum("amount"))
    ):
        position = index[row["day"]]
        completed[position] += row["count"]
        series = revenue.setdefault(row["currency"], [Decimal(0)] * days)
        series[position] += row["total"]
    for row in (
        declines.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("payment", distinct=True))
    ):
        declined[index[row["day"]]] += row["count"]
    return DailyActivity(
        days=calendar,
        completed=completed,
        declined=declined,
        revenue=dict(sorted(revenue.items())),
    )


# --- drawing ----------------------------------------------------------------------

_WIDTH = 720
_LEFT, _RIGHT = 44, 12
_PANEL = 120


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(-(-value // step) * step)


def _bars(activity: DailyActivity, top: int) -> list[str]:
    days = len(activity.days)
    slot = (_WIDTH - _LEFT - _RIGHT) / days
    peak = _nice_max(max([*activity.completed, *activity.declined, 0]))
    base = top + _PANEL
    parts = [
        f'<text x="{_LEFT}" y="{top - 6}" class="t">Charges per day: '
        f'<tspan fill="{_COMPLETED}">completed {sum(activity.completed)}</tspan>, '
        f'<tspan fill="{_DECLINED}">declined {sum(activity.declined)}</tspan></text>',
        f'<text x="{_LEFT - 4}" y="{top + 4}" class="a" text-anchor="end">'
        f"{int(peak)}</text>",
        f'<line x1="{_LEFT}" y1="{base}" x2="{_WIDTH - _RIGHT}" y2="{base}" '
        'stroke="#999"/>',
    ]
    half = max(slot / 2 - 0.5, 0.5)
    for position, (ok, no) in enumerate(
        zip(activity.completed, activity.declined, strict=True)
    ):
        x = _LEFT + position * slot
        day = activity.days[position].isoformat()
        for offset, count, colour, kind in (
            (0, ok, _COMPLETED, "completed"),
            (half, no, _DECLINED, "declined"),
        ):
            if not count:
                continue
            height = count / peak * _PANEL
            parts.append(
                f'<rect class="{kind}" x="{x + offset:.1f}" y="{base - height:.1f}" '
                f'width="{half:.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{day}: {count} {kind}</title></rect>"
            )
    return parts


def _lines(activity: DailyActivity, top: int) -> list[str]:
    days = len(activity.days)
    slot = (_WIDTH - _LEFT - _RIGHT) / max(days - 1, 1)
    base = top + _PANEL
    totals = activity.totals
    legend = ", ".join(
        f'<tspan fill="{_SERIES[n % len(_SERIES)]}">{escape(code)} '
        f"{totals[code]:.2f}</tspan>"
        for n, code in enumerate(activity.revenue)
    )
    parts = [
        f'<text x="{_LEFT}" y="{top - 6}" class="t">Revenue per day '
        f"(each currency on its own scale): {legend or 'none'}</text>",
        f'<line x1="{_LEFT}" y1="{base}" x2="{_WIDTH - _RIGHT}" y2="{base}" '
        'stroke="#999"/>',
    ]
    for n, (code, values) in enumerate(activity.revenue.items()):
        peak = _nice_max(float(max(values)))
        points = " ".join(
            f"{_LEFT + position * slot:.1f},{base - float(value) / peak * _PANEL:.1f}"
            for position, value in enumerate(values)
        )
        colour = _SERIES[n % len(_SERIES)]
        parts.append(
            f'<polyline class="revenue" data-currency="{escape(code)}" '
            f'points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 4}" y="{top + 4 + 12 * n}" class="a" '
            f'text-anchor="end" fill="{colour}">{int(peak)}</text>'
        )
    return parts


def render_svg(activity: DailyActivity) -> SafeString:
    """The chart as inline SVG markup (safe: every text in it is escaped)."""
    first_top = 24
    second_top = first_top + _PANEL + 44
    height = second_top + _PANEL + 24
    first, last = activity.days[0], activity.days[-1]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="okpay-chart" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'aria-label="OKPAY charges and revenue, {first} to {last}">',
        "<style>.t{font:12px sans-serif}.a{font:10px sans-serif;fill:#666}</style>",
        *_bars(activity, first_top),
        *_lines(activity, second_top),
        f'<text x="{_LEFT}" y="{height - 6}" class="a">{first.isoformat()}</text>',
        f'<text x="{_WIDTH - _RIGHT}" y="{height - 6}" class="a" '
        f'text-anchor="end">{last.isoformat()}</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))
