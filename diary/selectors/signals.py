"""Data-quality signals, computed in SQL from the audit trail and the data.

One query computes every signal of every participant in scope and the per-site summary
(`signals_compute`), however many participants there are (bench/bench_admin.py measures it
at 2,000 participants x 6 periods with ~100 audit events each). Nothing here reads the
allocation, a treatment or a sequence: the signals are the same whatever the allocation
(tests/diary/selectors/test_signals.py proves it), so blinded staff may read them.

The definitions, as the page shows them (`signal_definitions`), with the study's thresholds
(StudySignalSettings, or its defaults):
- unusual hours: her own entries (questionnaire submissions, period start and end reports)
  made at a local hour (her time zone) from night_start_hour up to night_end_hour;
- one sitting: entries of hers made within sitting_minutes of her previous entry of the same
  kind (a submission after a submission, a start after a start, an end after an end) about
  another questionnaire or period: several entered at once, "parking lot" style;
- late reports: the most days between a period's start and the day (hers) she reported it;
- answer changes: the most answers she replaced or cleared in one questionnaire's draft before
  submitting it (draft saves record the variables they revised);
- device clock: the most minutes between the time her device said she marked the VAS and the
  server's time of that save; a device time the server rejected as implausible counts too;
- corrections: corrections of her answers and paper forms transcribed by the site, and period
  dates corrected by staff; per site, their average per participant;
- end of window: her submissions made in the last last_hour_minutes before the window closed;
- missed in a row: the longest run of consecutive periods whose windows closed without a
  submission (an excused window breaks the run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, QuerySet

from diary.models import (
    UNBLINDED_ACTIONS,
    AuditAction,
    AuditEvent,
    Participant,
    SignalKind,
    SignalReview,
    Study,
    StudySignalSettings,
)

# The computed signals, in the order the page shows them (the trail review is not one).
SIGNALS: tuple[SignalKind, ...] = tuple(k for k in SignalKind if k != SignalKind.TRAIL)
# What counts as her entry: what she reports or submits herself.
ENTRY_ACTIONS = (AuditAction.SUBMITTED, AuditAction.PERIOD_REPORTED)
# The endings of an ISO 8601 offset (Z, +HH:MM, +HHMM, +HH) as (characters, LIKE pattern).
_OFFSETS = (
    (1, "Z"),
    *((n, f"{sign}{tail}") for sign in "+-" for n, tail in ((6, "__:__"), (5, "____"), (3, "__"))),
)


def _instant_sql(value: str) -> str:
    """SQL: whether the text `value` is an ISO 8601 instant with its offset (a date, a time to
    the minute at least, an offset), as the VAS page stores it; anything else is not cast, so
    no stored text can make the page fail. LIKE and epro_is_timestamptz (migration 0025:
    PostgreSQL 16's pg_input_is_valid, also on 15) rather than a regular expression, which cost
    a fifth of the signals page
    (bench/bench_admin.py)."""
    offsets = " OR ".join(f"right({value}, {n}) LIKE '{pattern}'" for n, pattern in _OFFSETS)
    return (
        f"(({value} LIKE '____-__-__T__:__%%' OR {value} LIKE '____-__-__ __:__%%')"
        f" AND ({offsets}) AND epro_is_timestamptz({value}))"
    )


def signal_settings_of(study: Study) -> StudySignalSettings:
    """The study's thresholds: its row, or an unsaved one holding the defaults."""
    found = StudySignalSettings.objects.filter(study=study).first()
    return found or StudySignalSettings(study=study)


@dataclass(frozen=True)
class SignalDefinition:
    kind: SignalKind
    label: str
    definition: str
    threshold: str  # in words, with the study's values


def signal_definitions(thresholds: StudySignalSettings) -> list[SignalDefinition]:
    t = thresholds
    texts = {
        SignalKind.UNUSUAL_HOURS: (
            "Her own entries (questionnaire submissions, period start and end reports) made "
            f"between {t.night_start_hour:02d}:00 and {t.night_end_hour:02d}:00 in her time zone.",
            f"flagged from {t.unusual_hours_entries} such entries",
        ),
        SignalKind.ONE_SITTING: (
            "Entries made within "
            f"{t.sitting_minutes} minutes of her previous entry of the same kind about another "
            'questionnaire or period: several entered in one sitting ("parking lot").',
            f"flagged from {t.sitting_entries} such entries",
        ),
        SignalKind.LATE_REPORT: (
            "The most days between a period's start and the day (in her time zone) she "
            "reported it.",
            f"flagged beyond {t.late_report_days} days",
        ),
        SignalKind.ANSWER_CHANGES: (
            "The most answers she replaced or cleared in one questionnaire before submitting "
            "it (from the draft saves in the audit trail).",
            f"flagged from {t.answer_changes} changes",
        ),
        SignalKind.CLOCK: (
            "The most minutes between the time her device gave for marking the VAS and the "
            "server's time of that save; a device time the server rejected as implausible "
            "(over 24 hours behind or 10 minutes ahead) counts as beyond the threshold.",
            f"flagged from {t.clock_minutes} minutes",
        ),
        SignalKind.CORRECTIONS: (
            "Corrections of her answers and paper forms transcribed by the site, and period "
            "dates corrected by staff; for a site, their average per participant.",
            f"flagged from {t.corrections_per_participant} per participant",
        ),
        SignalKind.LAST_HOUR: (
            f"Her submissions made in the last {t.last_hour_minutes} minutes before the "
            "window closed.",
            f"flagged from {t.last_hour_submissions} submissions",
        ),
        SignalKind.MISSED_IN_ROW: (
            "The longest run of consecutive periods whose window closed without a submission "
            "(an excused window breaks the run).",
            f"flagged from {t.missed_in_row} in a row",
        ),
    }
    return [
        SignalDefinition(kind, kind.label, *texts[kind])  # type: ignore[arg-type]
        for kind in SIGNALS
    ]


@dataclass
class SignalRow:
    """One participant's signals, or a site's summary (participant_id None: each value is then
    the number of its participants flagged, corrections the site's average)."""

    site_id: int
    site_code: str
    participant_id: int | None
    subject_id: str
    participants: int
    values: dict[str, int]
    flags: dict[str, bool]
    detail: dict[str, Any] = field(default_factory=dict)
    reviews: dict[str, SignalReview] = field(default_factory=dict)

    @property
    def flag_count(self) -> int:
        return sum(self.flags.values())

    def value_of(self, kind: str) -> str:
        """The value a review records as seen (compared when the review is signed)."""
        return str(self.values[kind])

    def cells(self) -> list[dict[str, Any]]:
        """The signals in page order, with the latest review (and whether it still holds), and
        `text`, the cell as the signals page shows it (value, ⚑ flagged, ✓ reviewed at this
        value, ✓? reviewed before it changed): built here once rather than by four template
        tests and a number format per cell, a fifth of the page's time at 100 rows."""
        cells = []
        for kind in SIGNALS:
            review = self.reviews.get(kind)
            flagged = self.flags[kind]
            current = review is not None and review.value_seen == self.value_of(kind)
            marks = (" ⚑" if flagged else "") + (
                "" if review is None else " ✓" if current else " ✓?"
            )
            cells.append(
                {
                    "kind": kind,
                    "label": kind.label,
                    "value": self.values[kind],
                    "flagged": flagged,
                    "review": review,
                    "review_current": current,
                    "text": f"{self.values[kind]}{marks}",
                }
            )
        return cells


def _night(t: StudySignalSettings) -> str:
    # A night that wraps midnight (22 -> 5) is two ranges; the same start and end, none.
    if t.night_start_hour < t.night_end_hour:
        return "(e.local_hour >= %(night_start)s AND e.local_hour < %(night_end)s)"
    if t.night_start_hour > t.night_end_hour:
        return "(e.local_hour >= %(night_start)s OR e.local_hour < %(night_end)s)"
    return "FALSE"


_SIGNALS_SQL = """
WITH p AS MATERIALIZED (
    SELECT p.id, p.site_id, s.code AS site_code, p.subject_id, p.user_id, p.time_zone,
           p.withdrawn_at
    FROM diary_participant p JOIN diary_site s ON s.id = p.site_id
    WHERE p.id IN ({scope})
),
entries AS MATERIALIZED (
    -- Her own entries, read straight from the trail (audit_action_time), narrow rows.
    SELECT e.participant_id, e.object_id, e.occurred_at,
           extract(hour FROM e.occurred_at AT TIME ZONE p.time_zone) AS local_hour,
           CASE WHEN e.action = 'submitted' THEN 'submitted'
                WHEN e.details ? 'ended_on' THEN 'period_end' ELSE 'period_start' END AS kind
    FROM diary_auditevent e JOIN p ON p.id = e.participant_id
    WHERE e.action IN ('submitted', 'period_reported') AND e.actor_id = p.user_id
),
hours AS (
    SELECT e.participant_id, count(*) AS n FROM entries e WHERE {night}
    GROUP BY e.participant_id
),
sittings AS (
    SELECT participant_id, count(*) AS n FROM (
        SELECT participant_id, object_id, occurred_at,
               lag(occurred_at) OVER w AS previous_at, lag(object_id) OVER w AS previous_object
        FROM entries
        WINDOW w AS (PARTITION BY participant_id, kind ORDER BY occurred_at)
    ) x
    WHERE previous_at IS NOT NULL AND object_id <> previous_object
      AND occurred_at - previous_at <= make_interval(mins => %(sitting_minutes)s)
    GROUP BY participant_id
),
late AS (
    SELECT m.participant_id,
           max((m.start_reported_at AT TIME ZONE p.time_zone)::date - m.started_on) AS days
    FROM diary_menstrualperiod m JOIN p ON p.id = m.participant_id
    GROUP BY m.participant_id
),
changes AS (
    SELECT participant_id, max(n) AS n FROM (
        -- From the index alone (audit_draft_revisions); the test of the list's type is in
        -- the sum, not the WHERE, whose selectivity PostgreSQL cannot estimate.
        SELECT e.participant_id, e.object_id,
               sum(CASE WHEN jsonb_typeof(e.details -> 'revised') = 'array'
                        THEN jsonb_array_length(e.details -> 'revised') END) AS n
        FROM diary_auditevent e
        WHERE e.action = 'draft_saved' AND e.participant_id IN (SELECT id FROM p)
        GROUP BY e.participant_id, e.object_id
    ) x GROUP BY participant_id
),
vas AS (
    SELECT a.participant_id, r.metadata ->> 'client_answered_at' AS client,
           r.metadata ->> 'server_saved_at' AS server,
           coalesce(r.metadata ->> 'client_answered_at_rejected', '') = 'true' AS rejected
    FROM diary_response r JOIN diary_assessment a ON a.id = r.assessment_id
    WHERE a.participant_id IN (SELECT id FROM p)
      AND (r.metadata ? 'client_answered_at' OR r.metadata ? 'client_answered_at_rejected')
),
clock AS (
    SELECT participant_id,
           floor(coalesce(max(CASE WHEN {client_instant} AND {server_instant}
                THEN abs(extract(epoch FROM client::timestamptz - server::timestamptz)) / 60
                END), 0))::int AS minutes,
           count(*) FILTER (WHERE rejected) AS rejected
    FROM vas GROUP BY participant_id
),
corrections AS (
    SELECT e.participant_id, count(*) AS n
    FROM diary_auditevent e JOIN p ON p.id = e.participant_id
    WHERE e.action = 'corrected'
       OR (e.action = 'period_corrected' AND e.actor_id IS DISTINCT FROM p.user_id)
    GROUP BY e.participant_id
),
windows AS (
    SELECT a.participant_id, a.period_number,
           a.status = 'submitted' AND a.submitted_at <= a.closes_at
               AND a.submitted_at > a.closes_at - make_interval(mins => %(last_minutes)s)
               AS last_hour,
           (a.status = 'missed'
               OR (a.status IN ('scheduled', 'open') AND a.closes_at <= %(now)s))
           AND (p.withdrawn_at IS NULL OR a.closes_at <= p.withdrawn_at) AS missed
    FROM diary_assessment a JOIN p ON p.id = a.participant_id
),
last_hour AS (
    SELECT participant_id, count(*) FILTER (WHERE last_hour) AS n
    FROM windows GROUP BY participant_id
),
runs AS (
    SELECT participant_id, max(n) AS n FROM (
        SELECT participant_id, count(*) AS n FROM (
            SELECT participant_id, missed, period_number - row_number() OVER (
                PARTITION BY participant_id, missed ORDER BY period_number) AS run
            FROM windows
        ) x WHERE missed GROUP BY participant_id, run
    ) y GROUP BY participant_id
),
signals AS MATERIALIZED (
    SELECT p.id, p.site_id, p.site_code, p.subject_id,
           coalesce(hours.n, 0) AS unusual_hours,
           coalesce(sittings.n, 0) AS one_sitting,
           greatest(coalesce(late.days, 0), 0) AS late_report,
           coalesce(changes.n, 0) AS answer_changes,
           coalesce(clock.minutes, 0) AS clock,
           coalesce(clock.rejected, 0) AS clock_rejected,
           coalesce(corrections.n, 0) AS corrections,
           coalesce(last_hour.n, 0) AS last_hour,
           coalesce(runs.n, 0) AS missed_in_row
    FROM p
    LEFT JOIN hours ON hours.participant_id = p.id
    LEFT JOIN sittings ON sittings.participant_id = p.id
    LEFT JOIN late ON late.participant_id = p.id
    LEFT JOIN changes ON changes.participant_id = p.id
    LEFT JOIN clock ON clock.participant_id = p.id
    LEFT JOIN corrections ON corrections.participant_id = p.id
    LEFT JOIN last_hour ON last_hour.participant_id = p.id
    LEFT JOIN runs ON runs.participant_id = p.id
),
flagged AS MATERIALIZED (
    SELECT s.*,
           s.unusual_hours >= %(unusual_hours)s AS f_unusual_hours,
           s.one_sitting >= %(one_sitting)s AS f_one_sitting,
           s.late_report > %(late_report)s AS f_late_report,
           s.answer_changes >= %(answer_changes)s AS f_answer_changes,
           s.clock >= %(clock)s OR s.clock_rejected > 0 AS f_clock,
           s.corrections >= %(corrections)s AS f_corrections,
           s.last_hour >= %(last_hour)s AS f_last_hour,
           s.missed_in_row >= %(missed_in_row)s AS f_missed_in_row
    FROM signals s
)
SELECT 'participant' AS row_kind, id, site_id, site_code, subject_id, 1 AS participants,
       unusual_hours, one_sitting, late_report, answer_changes, clock, corrections, last_hour,
       missed_in_row,
       f_unusual_hours, f_one_sitting, f_late_report, f_answer_changes, f_clock, f_corrections,
       f_last_hour, f_missed_in_row, clock_rejected
FROM flagged
UNION ALL
SELECT 'site', NULL, site_id, site_code, '', count(*),
       count(*) FILTER (WHERE f_unusual_hours), count(*) FILTER (WHERE f_one_sitting),
       count(*) FILTER (WHERE f_late_report), count(*) FILTER (WHERE f_answer_changes),
       count(*) FILTER (WHERE f_clock), sum(corrections),
       count(*) FILTER (WHERE f_last_hour), count(*) FILTER (WHERE f_missed_in_row),
       bool_or(f_unusual_hours), bool_or(f_one_sitting), bool_or(f_late_report),
       bool_or(f_answer_changes), bool_or(f_clock),
       sum(corrections) >= %(corrections)s * count(*),
       bool_or(f_last_hour), bool_or(f_missed_in_row), sum(clock_rejected)
FROM flagged GROUP BY site_id, site_code
ORDER BY row_kind, site_code, subject_id
"""

_COLUMNS = [str(kind) for kind in SIGNALS]


def _named(sql: str, params: tuple[Any, ...], prefix: str) -> tuple[str, dict[str, Any]]:
    """Django's compiled SQL with its positional %s turned into named parameters (a literal
    percent sign is %% in compiled SQL, so every %s is a placeholder)."""
    named: dict[str, Any] = {}
    parts = sql.split("%s")
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        named[f"{prefix}{i}"] = params[i]
        out += f"%({prefix}{i})s{part}"
    return out, named


@dataclass
class SignalTable:
    participants: list[SignalRow]
    sites: list[SignalRow]


def signals_compute(
    *, participants: QuerySet[Participant], thresholds: StudySignalSettings, now: datetime
) -> SignalTable:
    """Every signal of the given participants and, per site, how many are flagged. One query.

    Rows are ordered by site and study ID. Reviews are not attached (signal_reviews_attach).
    """
    scope_sql, scope_params = participants.order_by().values("pk").query.sql_with_params()
    scope, params = _named(scope_sql, scope_params, "scope")
    t = thresholds
    params |= {
        "now": now,
        "night_start": t.night_start_hour,
        "night_end": t.night_end_hour,
        "sitting_minutes": t.sitting_minutes,
        "last_minutes": t.last_hour_minutes,
        "unusual_hours": t.unusual_hours_entries,
        "one_sitting": t.sitting_entries,
        "late_report": t.late_report_days,
        "answer_changes": t.answer_changes,
        "clock": t.clock_minutes,
        "corrections": t.corrections_per_participant,
        "last_hour": t.last_hour_submissions,
        "missed_in_row": t.missed_in_row,
    }
    sql = _SIGNALS_SQL.format(
        scope=scope,
        night=_night(t),
        client_instant=_instant_sql("client"),
        server_instant=_instant_sql("server"),
    )
    table = SignalTable(participants=[], sites=[])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for record in cursor.fetchall():
            kind, pid, site_id, site_code, subject_id, count = record[:6]
            values = dict(zip(_COLUMNS, (int(v) for v in record[6:14]), strict=True))
            flags = dict(zip(_COLUMNS, (bool(v) for v in record[14:22]), strict=True))
            row = SignalRow(
                site_id=site_id,
                site_code=site_code,
                participant_id=pid,
                subject_id=subject_id,
                participants=int(count),
                values=values,
                flags=flags,
                detail={"clock_rejected": int(record[22])},
            )
            (table.participants if kind == "participant" else table.sites).append(row)
    return table


def signal_reviews_attach(rows: list[SignalRow]) -> None:
    """The latest review of each signal of these participants, on their rows. One query."""
    ids = [row.participant_id for row in rows if row.participant_id is not None]
    if not ids:
        return
    latest = (
        SignalReview.objects.filter(participant_id__in=ids)
        .order_by("participant_id", "signal", "-reviewed_at", "-id")
        .distinct("participant_id", "signal")
        .select_related("reviewed_by")
    )
    by_participant: dict[int, dict[str, SignalReview]] = {}
    for review in latest:
        by_participant.setdefault(review.participant_id, {})[review.signal] = review
    for row in rows:
        row.reviews = by_participant.get(row.participant_id or 0, {})


def participant_signals(
    *, participant: Participant, thresholds: StudySignalSettings, now: datetime
) -> SignalRow:
    """One participant's signals (the same query, on her alone)."""
    table = signals_compute(
        participants=Participant.objects.filter(pk=participant.pk), thresholds=thresholds, now=now
    )
    return table.participants[0]


def trail_fingerprint(*, participant: Participant) -> str:
    """What a review of her whole trail records as seen: how many events a blinded reader
    finds in it and the newest one's id, so that a review signed after new events is refused.
    Events about the allocation are left out, so the value is the same for every reader."""
    events = AuditEvent.objects.filter(participant=participant).exclude(
        action__in=UNBLINDED_ACTIONS
    )
    found = events.order_by().aggregate(n=Count("pk"), last=Max("pk"))
    return f"{found['n']} events, last #{found['last'] or 0}"
