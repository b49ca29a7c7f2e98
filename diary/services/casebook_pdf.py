"""A casebook (diary.selectors.casebook_copy) as a PDF, with ReportLab.

The fonts are the Bitstream Vera TrueType files ReportLab's own wheel ships (its `fonts`
folder), embedded as subsets: nothing from the system, so every machine renders the same
file, and the Latin-1 letters of the diary's languages (Danish æ ø å) are covered. The
document is written with ReportLab's `invariant` switch: no creation time or random document
id, so the same casebook gives the same bytes (the copy's manifest can be compared run to run,
and the blinding test compares files byte for byte).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from diary.selectors.casebook_copy import Casebook, ResponseEntry, TrailEntry

FONT, BOLD = "Vera", "VeraBd"
pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
pdfmetrics.registerFont(TTFont(BOLD, "VeraBd.ttf"))

BODY = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=7.5, leading=9.5)
H1 = ParagraphStyle("h1", parent=BODY, fontName=BOLD, fontSize=14, leading=18, spaceAfter=4)
H2 = ParagraphStyle("h2", parent=BODY, fontName=BOLD, fontSize=11, leading=14, spaceBefore=8)
H3 = ParagraphStyle("h3", parent=BODY, fontName=BOLD, fontSize=9.5, leading=12, spaceBefore=5)
GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), SMALL.fontSize),
        ("FONTNAME", (0, 0), (-1, 0), BOLD),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
    ]
)


def _p(text: object, style: ParagraphStyle = SMALL) -> Paragraph:
    return Paragraph(escape(str(text)), style)


# A cell's padding, left and right (ReportLab's default, 6 points in all).
CELL_PADDING = 6


def _cell(text: object, width: float) -> str | Paragraph:
    """A short text as a plain cell, one that would not fit its column as a wrapping
    paragraph: a paragraph is parsed and broken into lines, most of a casebook's rendering
    time (bench/bench_site_copy.py)."""
    text = str(text)
    if (
        "\n" not in text
        and pdfmetrics.stringWidth(text, FONT, SMALL.fontSize) <= width - CELL_PADDING
    ):
        return text
    return _p(text)


def _table(header: list[str], rows: list[list[object]], widths: list[float]) -> Table:
    points = [w * mm for w in widths]
    data = [[_p(h) for h in header]] + [
        [_cell(c, w) for c, w in zip(row, points, strict=True)] for row in rows
    ]
    table = Table(data, colWidths=points, repeatRows=1)
    table.setStyle(GRID)
    return table


def _response(entry: ResponseEntry) -> list[Flowable]:
    state = " (superseded by a correction)" if entry.superseded else ""
    parts: list[Flowable] = [
        _p(f"{entry.read.title}: submitted {entry.submitted}, {entry.source}{state}", H3)
    ]
    if entry.reason:
        parts.append(_p(f"Reason: {entry.reason}"))
    if entry.read.stem:
        parts.append(_p(entry.read.stem))
    rows = [[a.number, a.question, a.answer] for a in entry.read.answers]
    parts.append(_table(["No.", "Question", "Answer"], rows, [12, 118, 50]))
    if entry.scores:
        score_rows = [[s.scale, s.value, s.items] for s in entry.scores]
        parts.append(Spacer(1, 2 * mm))
        parts.append(
            _table(["Scale (0 = best, 100 = worst)", "Score", "Items"], score_rows, [90, 40, 50])
        )
    return parts


def _trail(entries: list[TrailEntry]) -> Table:
    rows = [[t.when, t.when_utc, t.action, t.actor, t.reason, t.details] for t in entries]
    return _table(
        ["Her time", "UTC", "Event", "By", "Reason", "Details"], rows, [26, 26, 28, 20, 30, 50]
    )


def _signatures(casebook: Casebook) -> list[Flowable]:
    """Each signature as Part 11 asks it shown: what it covers (her whole casebook or a
    milestone), printed name, date and time, meaning; and the hash it is bound to, with whether
    her data still match it."""
    return [
        _p(
            f"{s.signed_for}. Signed by {s.printed_name} on {s.signed_utc} "
            f"({s.signed_local} on her clock). "
            f"Meaning: {s.meaning}. Bound to SHA-256 {s.content_hash}. "
            + (
                "Holds: the data are as signed."
                if s.holds
                else "Void: the data changed after this signature; a new one is needed."
            ),
            BODY,
        )
        for s in casebook.signatures
    ]


def casebook_pdf(casebook: Casebook, *, generated: str) -> bytes:
    """The casebook as PDF bytes. `generated` says when and by whom the copy was made (the
    same for every casebook of one copy)."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"Casebook {casebook.subject_id}",
        author=casebook.study_code,
        invariant=1,
    )
    story: list[Flowable] = [
        _p(f"Casebook {casebook.subject_id}", H1),
        _p(f"Study {casebook.study_code} ({casebook.study_name}), site {casebook.site}", BODY),
        _p(
            f"Status: {casebook.status}. Enrolled {casebook.enrolled}. Times are on her clock "
            f"({casebook.time_zone}) unless marked UTC.",
            BODY,
        ),
        _p(f"Copy {generated}", BODY),
    ]
    if casebook.demo_wording:
        story.append(
            _p(
                "Demo wording: the question labels are the repository's demo labels, not the "
                "licensed questionnaire text.",
                BODY,
            )
        )
    story.append(_p("Periods", H2))
    story.append(
        _table(
            ["Period", "Started", "Ended", "Reported"],
            [
                [
                    p.number,
                    p.started_on.isoformat(),
                    p.ended_on.isoformat() if p.ended_on else "—",
                    p.reported,
                ]
                for p in casebook.periods
            ]
            or [["—", "none reported", "", ""]],
            [20, 40, 40, 80],
        )
    )
    story.append(_p("Questionnaires", H2))
    for assessment in casebook.assessments:
        story.append(
            KeepTogether(
                [
                    _p(
                        f"Period {assessment.period}: {assessment.status}; window "
                        f"{assessment.opens} to {assessment.closes}",
                        H3,
                    )
                ]
            )
        )
        for entry in assessment.responses:
            story.extend(_response(entry))
    story.append(_p("Signatures", H2))
    story.extend(_signatures(casebook) or [_p("Not signed.")])
    story.append(_p("Data change history", H2))
    story.append(_trail(casebook.changes) if casebook.changes else _p("No change was made."))
    story.append(_p("Audit trail extract", H2))
    story.append(_trail(casebook.trail) if casebook.trail else _p("No event."))
    doc.build(story)
    return out.getvalue()
