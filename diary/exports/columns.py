"""The variables of each export kind, in a stable order taken from the instrument definitions.

Blinded exports have no treatment, sequence or block column at all: those variables exist only
when `blinded` is False.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.definitions import Instrument

# What diary.selectors.questionnaire.instruments_collected returns: each instrument the study
# collects with the modules it collects of it. Passed in, so that this module stays pure.
Collected = Sequence[tuple[Instrument, tuple[str, ...]]]

KINDS = ("long", "wide", "treatment_means", "dictionary")
UNBLINDED_ONLY_KINDS = frozenset({"treatment_means"})


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str  # string | integer | decimal | date | datetime
    codes: tuple[tuple[int, str], ...] = ()
    unit: str = ""
    instrument: str = ""
    version: str = ""


STUDY_ID = Variable("study_id", "Pseudonymous participant identifier", "string")
SITE = Variable("site", "Site code", "string")
PERIOD = Variable("period", "Menstrual period number", "integer")
STATUS = Variable(
    "assessment_status",
    "Assessment status",
    "string",
    unit="scheduled | open | submitted | missed | excused",
)
OPENS = Variable("window_opens_at", "Window opens (UTC, ISO 8601)", "datetime")
CLOSES = Variable("window_closes_at", "Window closes (UTC, ISO 8601)", "datetime")
SUBMITTED = Variable("submitted_at", "Submitted (UTC, ISO 8601, server time)", "datetime")
SEQUENCE = Variable("sequence", "Allocated crossover sequence (unblinded)", "string")
BLOCK = Variable("block", "Treatment block of the period (unblinded)", "integer")
TREATMENT = Variable("treatment", "Treatment code in this period (unblinded)", "string")
PERIOD_START = Variable("period_started_on", "First day of the period (ISO date)", "date")
PERIOD_END = Variable("period_ended_on", "Last day of the period (ISO date)", "date")
CYCLE = Variable(
    "cycle_length_days", "Days from this period's start to the next one's", "integer", unit="days"
)

LONG_FIXED = (STUDY_ID, SITE, PERIOD, STATUS, OPENS, CLOSES, SUBMITTED)
LONG_ITEM = (
    Variable("instrument", "Instrument key", "string"),
    Variable("instrument_version", "Instrument version", "string"),
    Variable("item", "Item variable name", "string"),
    Variable("code", "Answer code (empty = not answered)", "integer"),
    Variable("label", "Label of the answer code", "string"),
)


def _item_variable(instrument: Instrument, key: str) -> Variable:
    item = instrument.item(key)
    return Variable(
        name=item.key,
        label=item.label,
        type="integer",
        codes=tuple((code.value, code.label) for code in item.codes),
        unit=item.unit or ("0-100" if item.kind == "integer" else ""),
        instrument=instrument.key,
        version=instrument.version,
    )


def score_variables(instrument: Instrument, modules: tuple[str, ...]) -> list[Variable]:
    out: list[Variable] = []
    for scale in instrument.scales_for(modules):
        if scale.method == "value":
            continue  # The VAS is its own item column.
        out.append(
            Variable(
                scale.key,
                f"{scale.label}: score 0 (best) - 100 (worst), exact to 4 decimals",
                "decimal",
                unit="0-100",
                instrument=instrument.key,
                version=instrument.version,
            )
        )
        out.append(
            Variable(
                f"{scale.key}_n",
                f"{scale.label}: items answered of {len(scale.items)}",
                "integer",
                instrument=instrument.key,
                version=instrument.version,
            )
        )
    return out


def wide_variables(collected: Collected, *, blinded: bool) -> list[Variable]:
    out = [STUDY_ID, SITE, PERIOD]
    if not blinded:
        out += [SEQUENCE, BLOCK, TREATMENT]
    out += [PERIOD_START, PERIOD_END, CYCLE, STATUS, OPENS, CLOSES, SUBMITTED]
    for instrument, modules in collected:
        out += [_item_variable(instrument, key) for key in instrument.item_keys(modules)]
    for instrument, modules in collected:
        out += score_variables(instrument, modules)
    return out


def long_variables(*, blinded: bool) -> list[Variable]:
    fixed = list(LONG_FIXED)
    if not blinded:
        fixed[3:3] = [SEQUENCE, BLOCK, TREATMENT]
    return fixed + list(LONG_ITEM)


def treatment_mean_variables(collected: Collected) -> list[Variable]:
    out = [
        STUDY_ID,
        SITE,
        SEQUENCE,
        Variable("treatment", "Treatment code", "string"),
        Variable("n_assessments", "Submitted assessments contributing", "integer"),
    ]
    for instrument, modules in collected:
        for scale in instrument.scales_for(modules):
            out.append(
                Variable(
                    f"mean_{scale.key}",
                    f"Mean of {scale.label} over the periods on this treatment",
                    "decimal",
                    unit="0-100",
                    instrument=instrument.key,
                    version=instrument.version,
                )
            )
    out.append(
        Variable(
            "mean_cycle_length_days",
            "Mean cycle length over the periods on this treatment",
            "decimal",
            unit="days",
        )
    )
    return out


def dictionary_rows(collected: Collected, *, blinded: bool) -> list[Variable]:
    """Every variable of every kind the user may export, each once, in export order."""
    seen: dict[str, Variable] = {}
    kinds = [long_variables(blinded=blinded), wide_variables(collected, blinded=blinded)]
    if not blinded:
        kinds.append(treatment_mean_variables(collected))
    for variables in kinds:
        for variable in variables:
            seen.setdefault(variable.name, variable)
    return list(seen.values())
