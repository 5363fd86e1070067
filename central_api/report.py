"""The weekly summary of a practice: `assistant-api report --practice ID --week YYYY-Www`.

The same figures as `GET /v1/metrics` for one ISO week (Monday to Sunday on the
practice's wall clock), each beside the week before, and the exceptions review,
written as CSV (one row per number) or as a printable PDF with its charts
(reportlab). Neither holds a patient's name: the exceptions carry task and
patient ids (shortened), and free-text escalation reasons have every word that
is a given or family name of one of the practice's patients replaced by
`[name]`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import metrics as server_metrics
from central_api import models
from followup_core import metrics as m

_WEEK = re.compile(r"(\d{4})-W(\d{2})")


class ReportError(ValueError):
    """A report that cannot be made (bad week, unknown practice); the message says why."""


def parse_week(text: str) -> date:
    """The Monday of an ISO week written `YYYY-Www` (ReportError when it is not one)."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise ReportError(f"{text!r} is not an ISO week like 2026-W48")
    try:
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ReportError(f"{text!r} is not a week of that year") from None


@dataclass(frozen=True)
class WeeklyReport:
    """One practice's week: figures, the week before's, the exceptions (names redacted)."""

    practice_id: str
    practice_name: str
    timezone: str
    week: str
    monday: date
    as_of: datetime
    figures: list[m.Figure]
    previous: dict[str, m.Figure]
    exceptions: dict[str, list[m.ExceptionGroup]]


def _redactor(session: Session, practice_id: str) -> re.Pattern[str] | None:
    P = models.Patient
    names: set[str] = set()
    for given, family in session.execute(
        select(P.given_name, P.family_name).where(P.practice_id == practice_id)
    ):
        for name in (given, family):
            for part in re.split(r"[\s-]+", name or ""):
                if len(part) >= 2:
                    names.add(re.escape(part.lower()))
    if not names:
        return None
    return re.compile(r"\b(" + "|".join(sorted(names)) + r")\b", re.IGNORECASE)


def build(session: Session, practice_id: str, week: str, as_of: datetime) -> WeeklyReport:
    """Compute the weekly report (ReportError for an unknown practice or a bad week)."""
    monday = parse_week(week)
    practice = session.get(models.Practice, practice_id)
    if practice is None:
        raise ReportError(f"no practice {practice_id!r}")
    filters = server_metrics.Filters()
    period = m.Period(monday, monday + timedelta(days=6), practice.timezone)
    before = m.Period(monday - timedelta(days=7), monday - timedelta(days=1), practice.timezone)
    figures = server_metrics.compute(session, practice, period, filters, as_of)
    previous = {f.id: f for f in server_metrics.compute(session, practice, before, filters, as_of)}
    lists = server_metrics.exceptions(
        session,
        practice.id,
        period.starts_at,
        period.ends_at,
        filters,
        as_of,
        timezone=practice.timezone,
    )
    redact = _redactor(session, practice.id)
    if redact is not None:
        lists["recurring_reasons"] = [
            g.model_copy(update={"label": redact.sub("[name]", g.label)})
            for g in lists["recurring_reasons"]
        ]
    return WeeklyReport(
        practice_id=practice.id,
        practice_name=practice.name,
        timezone=practice.timezone,
        week=week.strip(),
        monday=monday,
        as_of=as_of,
        figures=figures,
        previous=previous,
        exceptions=lists,
    )


# --- formatting -------------------------------------------------------------------------


def format_value(fig: m.Figure) -> str:
    """The headline as a person reads it: 83%, 42 min, 7, 12 days; or why there is none."""
    if fig.status is m.FigureStatus.NO_DATA_SOURCE:
        return "no data source"
    if fig.value is None:
        return "no data"
    if fig.unit == "ratio":
        return f"{fig.value * 100:.0f}%"
    if fig.unit == "minutes":
        return f"{fig.value:.0f} min"
    if fig.unit == "days":
        return f"{fig.value:.0f} days"
    return f"{fig.value:.2f}".rstrip("0").rstrip(".")


def trend(fig: m.Figure, previous: m.Figure | None) -> str:
    """`up`, `down`, `same` against the week before, or empty when either has no value."""
    if previous is None or fig.value is None or previous.value is None:
        return ""
    if abs(fig.value - previous.value) < 1e-9:
        return "same"
    return "up" if fig.value > previous.value else "down"


EXCEPTION_TITLES = {
    "recurring_reasons": "Recurring escalation reasons",
    "repeated_failed_contact": "Patients with repeated failed contact",
    "conflicts": "Conflicts needing attention",
    "past_target": "Tasks past their target",
}


def to_csv(report: WeeklyReport) -> str:
    """CSV, one number per row: `section, figure, measure, key, value, previous_week`."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "figure", "measure", "key", "value", "previous_week"])
    w.writerow(["report", "practice", "id", "", report.practice_id, ""])
    w.writerow(["report", "week", report.week, "", report.monday.isoformat(), ""])
    for fig in report.figures:
        prev = report.previous.get(fig.id)
        w.writerow(
            [
                "figure",
                fig.id,
                "value",
                fig.status.value,
                _num(fig.value),
                _num(prev.value if prev else None),
            ]
        )
        for name, value in fig.values.items():
            before = prev.values.get(name) if prev else None
            w.writerow(["figure", fig.id, name, "", _num(value), _num(before)])
        for row in fig.breakdown:
            for name, value in row.values.items():
                w.writerow(["breakdown", fig.id, name, row.key, _num(value), ""])
        for point in fig.series:
            w.writerow(["series", fig.id, "day", point.start.isoformat(), _num(point.value), ""])
    for section, groups in report.exceptions.items():
        for g in groups:
            w.writerow(["exception", section, g.label, g.key[:8], g.count, ""])
    return out.getvalue()


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def to_pdf(report: WeeklyReport, path: Path) -> None:
    """A printable A4 PDF: the figures table with the week before and a trend, two charts
    (SLA met and callback time per day; a day without data is a gap), the exceptions and the definitions."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.linecharts import HorizontalLineChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    sunday = report.monday + timedelta(days=6)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=f"Weekly follow-up summary {report.week}",
        author="assistant-tui",
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    story: list[object] = [
        Paragraph(f"Weekly follow-up summary: {_esc(report.practice_name)}", styles["Title"]),
        Paragraph(
            f"Week {report.week} ({report.monday:%a %d %b} to {sunday:%a %d %b %Y}, "
            f"{report.timezone}); computed {report.as_of:%Y-%m-%d %H:%M} UTC.",
            styles["Normal"],
        ),
        Spacer(1, 0.4 * cm),
    ]
    rows = [["Figure", "This week", "Week before", "Trend"]]
    for fig in report.figures:
        prev = report.previous.get(fig.id)
        rows.append(
            [fig.title, format_value(fig), format_value(prev) if prev else "", trend(fig, prev)]
        )
    table = Table(rows, colWidths=[7.5 * cm, 3.2 * cm, 3.2 * cm, 2 * cm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde4ee")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    story += [table, Spacer(1, 0.5 * cm)]

    figs = {f.id: f for f in report.figures}
    days = [f"{p.start:%a}" for p in figs["sla-met"].series]
    # Days without a judged task are gaps in the line, not zeros.
    sla = [None if p.value is None else p.value * 100 for p in figs["sla-met"].series]
    callback = [p.value or 0.0 for p in figs["callback-time"].series]

    line_drawing = Drawing(16 * cm, 5.2 * cm)
    line_drawing.add(String(0, 5 * cm - 8, "SLA met per day (%)", fontSize=10))
    line = HorizontalLineChart()
    line.x, line.y, line.width, line.height = 30, 15, 15 * cm - 30, 3.8 * cm
    line.data = [sla]
    line.categoryAxis.categoryNames = days
    line.valueAxis.valueMin, line.valueAxis.valueMax = 0, 100
    line.lines[0].strokeColor = colors.HexColor("#1f5fa8")
    line.lines[0].strokeWidth = 2
    line_drawing.add(line)

    bar_drawing = Drawing(16 * cm, 5.2 * cm)
    bar_drawing.add(
        String(0, 5 * cm - 8, "Callback time per day (median wall minutes)", fontSize=10)
    )
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 30, 15, 15 * cm - 30, 3.8 * cm
    bars.data = [callback]
    bars.categoryAxis.categoryNames = days
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor("#5b8fd0")
    bar_drawing.add(bars)
    story += [line_drawing, Spacer(1, 0.3 * cm), bar_drawing, Spacer(1, 0.4 * cm)]

    story.append(Paragraph("Exceptions", styles["Heading2"]))
    for section, title in EXCEPTION_TITLES.items():
        groups = report.exceptions.get(section, [])
        story.append(Paragraph(f"<b>{title}</b>: {len(groups)}", styles["Normal"]))
        for g in groups[:8]:
            story.append(
                Paragraph(
                    f"&nbsp;&nbsp;{_esc(g.label)} ({g.count}; tasks "
                    f"{', '.join(t[:8] for t in g.task_ids[:4])})",
                    styles["Normal"],
                )
            )
        if len(groups) > 8:
            story.append(Paragraph(f"&nbsp;&nbsp;and {len(groups) - 8} more", styles["Normal"]))
    story.append(Paragraph("Definitions", styles["Heading2"]))
    for fig in report.figures:
        story.append(Paragraph(f"<b>{fig.title}</b>: {_esc(fig.definition)}", styles["BodyText"]))
    doc.build(story)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
