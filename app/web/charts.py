"""Server-rendered SVG charts (no JavaScript): spending against the plan, a market's concentration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

from app.domain.budget import plan_line
from app.domain.money_format import format_pence

WIDTH, HEIGHT = 640, 280
# Room for "£18,200.00" on the left and a centred date label on the right.
LEFT, RIGHT, TOP, BOTTOM = 92, 44, 20, 40


@dataclass(frozen=True)
class ChartPoint:
    day: date
    spent: int
    plan: int


def spend_points(annual: int, start: date, end: date, spend_by_day: list[tuple[date, int]],
                 today: date) -> list[ChartPoint]:
    """One point per month-ish step up to today (and each spending day), for the table too."""
    stop = min(today, end)
    days = sorted({start, stop, *[d for d, _ in spend_by_day if d <= stop],
                   *[start + timedelta(days=28 * i) for i in range(14) if start + timedelta(days=28 * i) <= stop]})
    points, running, i = [], 0, 0
    for day in days:
        while i < len(spend_by_day) and spend_by_day[i][0] <= day:
            running = spend_by_day[i][1]
            i += 1
        points.append(ChartPoint(day, running, plan_line(annual, start, day)))
    return points


def spend_chart(annual: int, start: date, end: date, points: list[ChartPoint]) -> Markup:
    """Cumulative spending (solid) against the plan's straight line (dashed) for the year."""
    span = max((end - start).days, 1)
    top_value = max([annual, *[p.spent for p in points]]) or 1

    def x(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span

    def y(pence: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - pence / top_value)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'class="carefair-chart" role="img" aria-labelledby="spend-chart-title">'
             '<title id="spend-chart-title">Spending so far compared with the plan. '
             'The same figures are in the table below.</title>']
    for i in range(5):
        value = top_value * i // 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     'stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#0b0c0c">{escape(format_pence(value - value % 100))}</text>')
    for label_day in (start, start + (end - start) / 2, end):
        parts.append(f'<text x="{x(label_day):.1f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" '
                     f'fill="#0b0c0c">{label_day:%-d %b %Y}</text>')
    parts.append(f'<line x1="{x(start):.1f}" y1="{y(0):.1f}" x2="{x(end):.1f}" y2="{y(annual):.1f}" '
                 'stroke="#505a5f" stroke-width="2" stroke-dasharray="6 4"/>')
    if points:
        path = " ".join(f"{x(p.day):.1f},{y(p.spent):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d70b8" stroke-width="3"/>')
    # Top left: the plan line ends top right, so a legend there would sit on it.
    parts.append(f'<text x="{LEFT + 8}" y="{TOP + 12}" text-anchor="start" font-size="12" '
                 'fill="#505a5f">Dashed: the plan. Solid: spent.</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704


def concentration_chart(points: list[tuple[str, float | None]], line: int) -> Markup:
    """A market's concentration index at each scan (solid), against the council's line for
    highly concentrated (dashed). A scan where the market had no spending leaves a gap."""
    top_value = 10_000
    count = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * i / count

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top_value)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             'class="carefair-chart" role="img" aria-labelledby="hhi-chart-title">'
             '<title id="hhi-chart-title">The concentration index at each scan compared with '
             'the line for highly concentrated. The same figures are in the table beside it.'
             '</title>']
    for value in range(0, top_value + 1, 2_500):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="#b1b4b6" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'font-size="12" fill="#0b0c0c">{value:,}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(line):.1f}" y2="{y(line):.1f}" '
                 'stroke="#505a5f" stroke-width="2" stroke-dasharray="6 4"/>')
    for i in sorted({0, len(points) - 1}):
        if points:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
                         f'font-size="12" fill="#0b0c0c">{escape(points[i][0])}</text>')
    run: list[str] = []
    for i, (_, value) in enumerate([*points, ("", None)]):
        if value is None:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                             'stroke="#1d70b8" stroke-width="3"/>')
            elif len(run) == 1:
                cx, cy = run[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="4" fill="#1d70b8"/>')
            run = []
        else:
            run.append(f"{x(i):.1f},{y(value):.1f}")
    parts.append(f'<text x="{LEFT + 8}" y="{TOP + 12}" text-anchor="start" font-size="12" '
                 f'fill="#505a5f">Dashed: highly concentrated above {line:,}. Solid: this '
                 'market.</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704
