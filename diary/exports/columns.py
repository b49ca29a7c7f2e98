"""The columns of each export kind, in a stable order taken from the instrument definitions.

Pure: no Django import. Each Column is one variable: its name (the CSV header), its data
dictionary entry (label, type, codes, unit, instrument) and the SQL expression that fills it.
The data dictionary and the SELECT that PostgreSQL turns into the file are read from the same
objects, so the header and the dictionary cannot drift apart.

Blinded exports have no treatment, sequence or block column at all: those columns exist only
when `blinded` is False. Their SQL names the allocation fragment's outputs ($sequence, ...),
which only an unblinded query provides, so a blinded query holding one fails to build.

The SQL expressions are written against the aliases the queries of diary.exports.queries
give their rows: p participant, s site, a assessment; in `long` r response and kv / cl the
answer and its code label; in `wide` r<n> / s<n> the current response and score pivot of the
study's n-th instrument; in `treatment_means` pp, one row per participant x period. `$name`
is an output of a shared fragment (diary.exports.sql) or of the kind's own query, `%s` a
bound parameter (Column.params).

Types are what pandas.read_csv and R's read.csv read with their default options (the
dictionary's `type`; tests/diary/exports/test_export_types.py): a value that looks like a
number is read as one by both, so a text column never holds one. An instrument version is
therefore written with a leading v (version_text: "v1.0", which both read as text; "1.0"
would be read as the number 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from diary.rules.local_time import utc_iso_sql
from diary.rules.spreadsheet import formula_neutralise, formula_neutralise_sql
from scoring.definitions import Instrument, Scale
from scoring.statistics.flow import STAGES, Flow

# What diary.selectors.questionnaire.instruments_collected returns: each instrument the study
# collects with the modules it collects of it. Passed in, so that this module stays pure.
Collected = Sequence[tuple[Instrument, tuple[str, ...]]]

KINDS = ("long", "wide", "treatment_means", "analysis", "flow", "dictionary")
# Files that are not CSV tables of columns (no dictionary entry): the ODM 1.3.2 archive
# (diary.exports.odm), the SDTM datasets and their define.xml (diary.exports.sdtm, .define).
# Every kind an export may ask for is in EXPORT_KINDS.
DOCUMENT_KINDS = ("odm", "sdtm", "define")
EXPORT_KINDS = (*KINDS, *DOCUMENT_KINDS)
# The files whose every row is about a treatment or a sequence: they exist only unblinded.
UNBLINDED_ONLY_KINDS = frozenset({"treatment_means", "analysis", "flow"})
# The allocation's own columns; the only ones a blinded file must never carry.
ALLOCATION_COLUMNS = frozenset({"sequence", "block", "treatment"})

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def ident(name: str) -> str:
    """`name` as a quoted SQL identifier; refused unless it is a plain lower-case name."""
    if not _IDENT.match(name):
        raise ValueError(f"not a safe column name: {name!r}")
    return f'"{name}"'


text = formula_neutralise_sql  # a text cell a spreadsheet could take for a formula
utc = utc_iso_sql  # an instant, printed in UTC with a Z

VERSION_PREFIX = "v"


def version_text(version: str) -> str:
    """An instrument version as the CSV files write it: "v1.0", text to every reader."""
    return f"{VERSION_PREFIX}{version}" if version else ""


def version_text_sql(expr: str) -> str:
    """The SQL twin of version_text for the version column `expr`."""
    return f"('{VERSION_PREFIX}' || {expr})"


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # string | integer | decimal | date | datetime
    sql: str = ""  # what fills it; see the module docstring for its aliases
    params: tuple[Any, ...] = ()  # bound to the %s in `sql`, in order
    codes: tuple[tuple[int | str, str], ...] = ()
    unit: str = ""
    instrument: str = ""
    version: str = ""

    def select(self) -> str:
        return f"{self.sql} AS {ident(self.name)}"


STUDY_ID = Column("study_id", "Pseudonymous participant identifier", "string", text("p.subject_id"))
SITE = Column("site", "Site code", "string", text("s.code"))
# Where the participant stands in the trial, in every file (diary.exports.sql.participant_course).
PARTICIPANT_STATUS = Column(
    "participant_status",
    "Participant status (invited, active, withdrawn, completed)",
    "string",
    "$participant_status",
    unit="invited | active | withdrawn | completed",
)
RANDOMISED_AT = Column(
    "randomised_at",
    "Randomised (UTC, ISO 8601); empty when she has not been randomised",
    "datetime",
    utc("$randomised_at"),
)
WITHDRAWN_AT = Column(
    "withdrawn_at",
    "Withdrawn (UTC, ISO 8601); empty when she has not withdrawn",
    "datetime",
    utc("$withdrawn_at"),
)
WITHDRAWAL_PERIOD = Column(
    "withdrawal_period",
    "Period in progress when she withdrew: the last of her periods that started on or before "
    "the day she withdrew (her own calendar); 0 = before her first period; empty when she has "
    "not withdrawn",
    "integer",
    "$withdrawal_period",
)
PARTICIPANT = (PARTICIPANT_STATUS, RANDOMISED_AT, WITHDRAWN_AT, WITHDRAWAL_PERIOD)
PERIOD = Column("period", "Menstrual period number", "integer", "a.period_number")
STATUS = Column(
    "assessment_status",
    "Assessment status",
    "string",
    "a.status",
    unit="scheduled | open | submitted | missed | excused",
)
OPENS = Column("window_opens_at", "Window opens (UTC, ISO 8601)", "datetime", utc("a.opens_at"))
CLOSES = Column("window_closes_at", "Window closes (UTC, ISO 8601)", "datetime", utc("a.closes_at"))
# In `long` the time of the response itself (a correction's is its own); in `wide` the
# assessment's, when the participant or the site submitted it.
SUBMITTED = Column(
    "submitted_at", "Submitted (UTC, ISO 8601, server time)", "datetime", utc("r.submitted_at")
)
SEQUENCE = Column(
    "sequence", "Allocated crossover sequence (unblinded)", "string", text("$sequence")
)
BLOCK = Column("block", "Treatment block of the period (unblinded)", "integer", "$block")
TREATMENT = Column(
    "treatment", "Treatment code in this period (unblinded)", "string", text("$treatment")
)
PERIOD_START = Column(
    "period_started_on", "First day of the period (ISO date)", "date", "$period_started_on"
)
PERIOD_END = Column(
    "period_ended_on", "Last day of the period (ISO date)", "date", "$period_ended_on"
)
CYCLE = Column(
    "cycle_length_days",
    "Days from this period's start to the next one's (for the last period: to the start of "
    "the next period she reported after it)",
    "integer",
    "$cycle_length_days",
    unit="days",
)

LONG_FIXED = (STUDY_ID, SITE, *PARTICIPANT, PERIOD, STATUS, OPENS, CLOSES, SUBMITTED)
LONG_ITEM = (
    Column("instrument", "Instrument key", "string", "r.instrument_key"),
    Column(
        "instrument_version",
        "Instrument version, written v<version> (v1.0) so that every reader keeps it as text",
        "string",
        version_text_sql("r.instrument_version"),
    ),
    Column("item", "Item variable name", "string", "kv.key"),
    Column("code", "Answer code (empty = not answered)", "integer", "kv.value #>> '{}'"),
    Column("label", "Label of the answer code", "string", text("cl.label")),
)


def response_alias(position: int) -> str:
    """Alias of the current response of the study's instrument at `position` (wide)."""
    return f"r{position}"


def score_alias(position: int) -> str:
    """Alias of the score pivot of the study's instrument at `position` (wide)."""
    return f"s{position}"


def scored_scales(instrument: Instrument, modules: tuple[str, ...]) -> list[Scale]:
    """The scales with score columns; a scale that is an item's own value (the VAS) has its
    item's column instead."""
    return [scale for scale in instrument.scales_for(modules) if scale.method != "value"]


def _item_column(instrument: Instrument, key: str, position: int) -> Column:
    item = instrument.item(key)
    return Column(
        name=item.key,
        label=item.label,
        type="integer",
        sql=f"{response_alias(position)}.answers ->> %s",
        params=(key,),
        codes=tuple((code.value, code.label) for code in item.codes),
        unit=item.unit or ("0-100" if item.kind == "integer" else ""),
        instrument=instrument.key,
        version=instrument.version,
    )


def _score_columns(instrument: Instrument, modules: tuple[str, ...], position: int) -> list[Column]:
    out: list[Column] = []
    pivot = score_alias(position)
    for scale in scored_scales(instrument, modules):
        out.append(
            Column(
                scale.key,
                f"{scale.label}: score 0 (best) - 100 (worst), exact to 4 decimals",
                "decimal",
                f"{pivot}.{ident(scale.key)}",
                unit="0-100",
                instrument=instrument.key,
                version=instrument.version,
            )
        )
        out.append(
            Column(
                f"{scale.key}_n",
                f"{scale.label}: items answered of {len(scale.items)}",
                "integer",
                f"{pivot}.{ident(scale.key + '_n')}",
                instrument=instrument.key,
                version=instrument.version,
            )
        )
    return out


def long_columns(*, blinded: bool) -> list[Column]:
    """One row per participant x period x instrument x item of the current responses."""
    fixed = list(LONG_FIXED)
    if not blinded:
        after_period = fixed.index(PERIOD) + 1
        fixed[after_period:after_period] = [SEQUENCE, BLOCK, TREATMENT]
    return fixed + list(LONG_ITEM)


def wide_columns(collected: Collected, *, blinded: bool) -> list[Column]:
    """One row per participant x period: every item code, every scale score, dates, status."""
    out = [STUDY_ID, SITE, *PARTICIPANT, PERIOD]
    if not blinded:
        out += [SEQUENCE, BLOCK, TREATMENT]
    out += [PERIOD_START, PERIOD_END, CYCLE, STATUS, OPENS, CLOSES]
    out.append(replace(SUBMITTED, sql=utc("a.submitted_at")))
    for position, (instrument, modules) in enumerate(collected):
        out += [_item_column(instrument, key, position) for key in instrument.item_keys(modules)]
    for position, (instrument, modules) in enumerate(collected):
        out += _score_columns(instrument, modules, position)
    return out


# Means (treatment_means) and period values (analysis) are of the exact scale scores, rounded
# half away from zero to this many decimals (at least 12 significant digits for any value above
# 1e-8): an analysis of the files reproduces the per-arm summary to 1e-9
# (tests/diary/exports/test_export_reproduces_summary.py).
MEAN_DECIMALS = 20


def treatment_mean_columns(collected: Collected) -> list[Column]:
    """One row per participant x treatment (unblinded only), over the per-period rows pp: per
    outcome the mean of the exact period values and how many values it used. The participant
    columns' $names are pp's columns of the same name."""
    out = [
        replace(STUDY_ID, sql=text("pp.subject_id")),
        replace(SITE, sql=text("pp.site")),
        *PARTICIPANT,
        replace(SEQUENCE, sql=text("pp.sequence")),
        Column("treatment", "Treatment code", "string", text("pp.treatment")),
        Column(
            "n_assessments",
            "Submitted assessments contributing",
            "integer",
            "count(*) FILTER (WHERE pp.status = 'submitted')",
        ),
    ]
    rounding = f"rounded half away from zero to {MEAN_DECIMALS} decimals"
    for instrument, modules in collected:
        for scale in instrument.scales_for(modules):
            key = ident(scale.key)
            unit = "0-100" if scale.method != "value" else ""
            out += [
                Column(
                    f"mean_{scale.key}",
                    f"Mean of the exact {scale.label} scores over the periods on this "
                    f"treatment, {rounding}",
                    "decimal",
                    f"round(avg(pp.{key}), {MEAN_DECIMALS})",
                    unit=unit or "0-100",
                    instrument=instrument.key,
                    version=instrument.version,
                ),
                Column(
                    f"n_{scale.key}",
                    f"Number of period values the mean of {scale.label} used",
                    "integer",
                    f"count(pp.{key})",
                    instrument=instrument.key,
                    version=instrument.version,
                ),
            ]
    out += [
        Column(
            "mean_cycle_length_days",
            f"Mean cycle length over the periods on this treatment, {rounding}",
            "decimal",
            f"round(avg(pp.cycle_length), {MEAN_DECIMALS})",
            unit="days",
        ),
        Column(
            "n_cycle_length_days",
            "Number of cycle lengths the mean used",
            "integer",
            "count(pp.cycle_length)",
        ),
    ]
    return out


# The outcome of the analysis file that is not a scale of an instrument.
CYCLE_OUTCOME = "cycle_length_days"


@dataclass(frozen=True)
class AnalysisOutcome:
    """An outcome of the analysis file: its key and label, and what its value is read from:
    the scale's instrument and, for a scale scored in percent of its maximum, the items'
    highest code (None for a scale whose score is its item's value, e.g. the VAS). The cycle
    length has no instrument."""

    key: str
    label: str
    instrument: str | None = None
    max_code: int | None = None


def analysis_outcomes(collected: Collected) -> list[AnalysisOutcome]:
    """Each outcome of the analysis file, in the per-arm summary's order: every scale of every
    instrument collected, then the cycle length (diary.exports.queries.analysis_query lists
    its rows in this order, with these instruments and codes)."""
    scales = [
        AnalysisOutcome(
            key=scale.key,
            label=scale.label,
            instrument=instrument.key,
            max_code=(
                instrument.item(scale.items[0]).max_value if scale.method != "value" else None
            ),
        )
        for instrument, modules in collected
        for scale in instrument.scales_for(modules)
    ]
    return [*scales, AnalysisOutcome(key=CYCLE_OUTCOME, label="Cycle length (days)")]


def analysis_columns(collected: Collected) -> list[Column]:
    """One row per participant x period x outcome (unblinded only): the long analysis file for
    lm / lmer / PROC MIXED. `$outcome`, `$outcome_value`, `$n_items` and `$n_items_in_scale`
    are outputs of the kind's query (diary.exports.queries.analysis_query)."""
    return [
        STUDY_ID,
        SITE,
        *PARTICIPANT,
        SEQUENCE,
        PERIOD,
        BLOCK,
        TREATMENT,
        STATUS,
        Column(
            "outcome",
            "Outcome: a scale key (one row per scale) or cycle_length_days",
            "string",
            "$outcome",
            codes=tuple((o.key, o.label) for o in analysis_outcomes(collected)),
        ),
        Column(
            "value",
            "The outcome's exact value in this period (a scale score 0 (best) - 100 (worst), "
            f"the VAS, or days to the next period's start), rounded half away from zero to "
            f"{MEAN_DECIMALS} decimals; empty when missing (not submitted, too few items "
            "answered, or no next period reported)",
            "decimal",
            f"round($outcome_value, {MEAN_DECIMALS})",
            unit="0-100 (scales, VAS); days (cycle_length_days)",
        ),
        Column(
            "n_items",
            "Items of the scale answered in this period; empty for cycle_length_days and when "
            "the assessment was not submitted",
            "integer",
            "$n_items",
        ),
        Column(
            "n_items_in_scale",
            "Items in the scale; empty for cycle_length_days and when the assessment was not "
            "submitted",
            "integer",
            "$n_items_in_scale",
        ),
    ]


# The flow of participants (unblinded only: per-sequence counts). A small table built in
# Python from the per-arm summary's flow (scoring.statistics.flow), so no SQL: flow_rows
# fills these columns in this order.
FLOW_COLUMNS = (
    Column("stage", "Stage of the CONSORT crossover flow", "string",
           unit=" | ".join(f"{name}: {meaning}" for name, meaning in STAGES.items())),
    Column("sequence", "Allocated crossover sequence (unblinded); empty: all participants "
           "(enrolled) or not randomised", "string"),
    Column("period", "Period number, for the period stages (withdrawn: 0 = before the first "
           "period; cycle_closed: the last period); empty otherwise", "integer"),
    Column("outcome", "Outcome, for the analysis stages; empty otherwise", "string"),
    Column("reason", "Why not analysed (not_analysed only); empty otherwise", "string"),
    Column("participants", "Number of participants", "integer"),
    Column("dates", "Withdrawal dates (UTC), ISO, separated by '; ' (withdrawn only)",
           "string"),
)  # fmt: skip


def flow_rows(flow: Flow) -> list[list[str]]:
    """The flow's rows as CSV cells, in FLOW_COLUMNS order (empty cell for none; text cells
    neutralised against spreadsheet formulas)."""
    return [
        [row.stage, formula_neutralise(row.sequence),
         "" if row.period is None else str(row.period), formula_neutralise(row.outcome),
         row.reason, str(row.participants), "; ".join(d.isoformat() for d in row.dates)]
        for row in flow.rows
    ]  # fmt: skip


def kind_columns(kind: str, collected: Collected, *, blinded: bool) -> list[Column]:
    """The columns of a file of `kind` (not the dictionary), in file order."""
    if kind == "long":
        return long_columns(blinded=blinded)
    if kind == "wide":
        return wide_columns(collected, blinded=blinded)
    if kind == "treatment_means" and not blinded:
        return treatment_mean_columns(collected)
    if kind == "analysis" and not blinded:
        return analysis_columns(collected)
    if kind == "flow" and not blinded:
        return list(FLOW_COLUMNS)
    raise ValueError(f"no {'blinded ' if blinded else ''}{kind} file")


def dictionary_columns(collected: Collected, *, blinded: bool) -> list[Column]:
    """Every variable of every kind the user may export, each once, in export order: the
    columns of long, then wide, then (unblinded) treatment_means, analysis and flow, first
    description wins."""
    kinds = ["long", "wide"] + ([] if blinded else ["treatment_means", "analysis", "flow"])
    seen: dict[str, Column] = {}
    for kind in kinds:
        for column in kind_columns(kind, collected, blinded=blinded):
            seen.setdefault(column.name, column)
    return list(seen.values())
