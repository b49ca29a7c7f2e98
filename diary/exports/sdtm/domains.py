"""The SDTM datasets (SDTMIG 3.4) of a study: their variables in file order, each with its
define.xml metadata and the SQL expression that fills it.

Pure: no Django import. As in diary.exports.columns, one object carries a variable's name,
label, type, length, codelist and SQL, so a dataset's header, its define.xml and its
Dataset-JSON columns are read from the same place and cannot disagree.

The SQL is written against the aliases the queries of diary.exports.sdtm.queries give their
rows: p participant, s site, sy study, a assessment, r response; in QS / FA q the mapped test
(one row per item or scale of scoring/instruments/*.sdtm.toml), lb the answer's code label,
sc the score; in SE m the reported period; `$name` is an output of a shared fragment
(diary.exports.sql). Every variable that could reveal the allocation (ARMCD, ARM, ACTARMCD,
ACTARM; ETCD and ELEMENT of SE) has a blinded expression that names nothing of it: a constant,
or the treatment block, which is the study's design and the same for every participant.

Conventions: dates ISO 8601 (YYYY-MM-DD), instants ISO 8601 in UTC to the second without an
offset (YYYY-MM-DDThh:mm:ss; define.xml says they are UTC), empty for missing, character
values within the XPT v5 limit of 200 (LENGTH), names of 8 and labels of 40 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from diary.rules.spreadsheet import formula_neutralise_sql

# XPT v5 limits (SAS TS-140), which SDTM datasets keep whatever the file format.
NAME_MAX, LABEL_MAX, CHAR_MAX = 8, 40, 200

BLINDED_ARMCD, BLINDED_ARM = "BLINDED", "Blinded"
NOT_ASSIGNED = "NOT ASSIGNED"  # ARMNRS (SDTMIG 3.4 controlled terminology, codelist ARMNULRS)
NOT_DONE = "NOT DONE"
REASON_NOT_ANSWERED = "NOT ANSWERED"
REASON_NOT_APPLICABLE = "NOT APPLICABLE"
REASON_TOO_FEW = "TOO FEW ITEMS ANSWERED"
REASONS_NOT_DONE = (REASON_NOT_ANSWERED, REASON_NOT_APPLICABLE, REASON_TOO_FEW)


def epoch_name(block: int) -> str:
    """The EPOCH of a treatment block: its number only, so that it names no treatment."""
    return f"BLOCK {block}"


def visit_name(period: int) -> str:
    return f"PERIOD {period}"


def blinded_element(block: int) -> tuple[str, str]:
    """ETCD and ELEMENT of a cycle in a blinded file: the block, never the treatment."""
    return f"BLK{block}", f"Cycle in block {block} (blinded)"


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str  # define.xml DataType: text | integer | float | date | datetime
    length: int  # characters for text, digits for numbers
    sql: str
    blinded_sql: str = ""  # the expression of a blinded file, when it differs
    codelist: str = ""  # key of the codelist (diary.exports.define) of a coded variable
    origin: str = "Collected"  # define.xml def:Origin Type
    mandatory: bool = False  # SDTMIG "Req": never empty
    role: str = ""

    def expression(self, *, blinded: bool) -> str:
        return self.blinded_sql if blinded and self.blinded_sql else self.sql


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    klass: str  # define.xml def:Class
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Var, ...]

    @property
    def per_subject(self) -> bool:
        return any(v.name == "USUBJID" for v in self.variables)


def quoted(name: str) -> str:
    """A variable name as an SQL identifier; SDTM names are capitals and digits only."""
    if not (name.isalnum() and name.upper() == name and len(name) <= NAME_MAX):
        raise ValueError(f"not an SDTM variable name: {name!r}")
    return f'"{name}"'


def literal(value: str) -> str:
    """A constant of this module (never user data) as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


text = formula_neutralise_sql  # study-typed text a spreadsheet could take for a formula


def day(expr: str) -> str:
    return f"to_char({expr}, 'YYYY-MM-DD')"


def instant(expr: str) -> str:
    return f"""to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"""


STUDYID = Var(
    "STUDYID",
    "Study Identifier",
    "text",
    32,
    "sy.code",
    mandatory=True,
    origin="Assigned",
    role="Identifier",
)
USUBJID = Var("USUBJID", "Unique Subject Identifier", "text", 65,
              text("sy.code || '-' || p.subject_id"), mandatory=True, origin="Derived",
              role="Identifier")  # fmt: skip
BLOCK_SQL = "((a.period_number - 1) / sy.periods_per_block + 1)"
EPOCH = Var("EPOCH", "Epoch", "text", 20, f"'BLOCK ' || {BLOCK_SQL}", codelist="EPOCH",
            origin="Derived", role="Timing")  # fmt: skip
VISITNUM = Var("VISITNUM", "Visit Number", "integer", 3, "a.period_number", codelist="VISITNUM",
               origin="Derived", role="Timing")  # fmt: skip
VISIT = Var("VISIT", "Visit Name", "text", 20, "'PERIOD ' || a.period_number", codelist="VISIT",
            origin="Derived", role="Timing")  # fmt: skip


def domain_var(name: str) -> Var:
    return Var("DOMAIN", "Domain Abbreviation", "text", 2, literal(name), codelist="DOMAIN",
               mandatory=True, origin="Assigned", role="Identifier")  # fmt: skip


ARM_SQL = "$arm"  # the sequence's treatments by block, from the queries' arm join
DM = Dataset(
    "DM", "Demographics", "SPECIAL PURPOSE", "One record per subject", ("STUDYID", "USUBJID"),
    (
        STUDYID,
        domain_var("DM"),
        USUBJID,
        Var("SUBJID", "Subject Identifier for the Study", "text", 32, text("p.subject_id"),
            mandatory=True, role="Topic"),
        Var("RFSTDTC", "Subject Reference Start Date/Time", "date", 10, day("$first_start"),
            origin="Derived", role="Record Qualifier"),
        Var("RFENDTC", "Subject Reference End Date/Time", "date", 10, day("$last_start"),
            origin="Derived", role="Record Qualifier"),
        Var("RFPENDTC", "Date/Time of End of Participation", "date", 10,
            day("coalesce((p.withdrawn_at AT TIME ZONE p.time_zone)::date, $last_start)"),
            origin="Derived", role="Record Qualifier"),
        Var("SITEID", "Study Site Identifier", "text", 16, text("s.code"), mandatory=True,
            codelist="SITEID", origin="Assigned", role="Record Qualifier"),
        Var("ARMCD", "Planned Arm Code", "text", 20, "$armcd", codelist="ARMCD",
            blinded_sql=f"CASE WHEN $randomised THEN {literal(BLINDED_ARMCD)} END",
            origin="Assigned", role="Record Qualifier"),
        Var("ARM", "Description of Planned Arm", "text", 200, text(ARM_SQL), codelist="ARM",
            blinded_sql=f"CASE WHEN $randomised THEN {literal(BLINDED_ARM)} END",
            origin="Assigned", role="Synonym Qualifier"),
        Var("ACTARMCD", "Actual Arm Code", "text", 20, "$armcd", codelist="ARMCD",
            blinded_sql=f"CASE WHEN $randomised THEN {literal(BLINDED_ARMCD)} END",
            origin="Assigned", role="Record Qualifier"),
        Var("ACTARM", "Description of Actual Arm", "text", 200, text(ARM_SQL), codelist="ARM",
            blinded_sql=f"CASE WHEN $randomised THEN {literal(BLINDED_ARM)} END",
            origin="Assigned", role="Synonym Qualifier"),
        Var("ARMNRS", "Reason Arm and/or Actual Arm is Null", "text", 20,
            f"CASE WHEN NOT $randomised THEN {literal(NOT_ASSIGNED)} END", codelist="ARMNRS",
            origin="Derived", role="Record Qualifier"),
        Var("DMDTC", "Date/Time of Collection", "date", 10,
            day("(p.enrolled_at AT TIME ZONE 'UTC')::date"), origin="Collected", role="Timing"),
    ),
)  # fmt: skip

# Trial design: built in Python from the study's design (diary.exports.sdtm.queries), so the
# SQL of these variables is empty.
TA = Dataset(
    "TA", "Trial Arms", "TRIAL DESIGN", "One record per planned Element per Arm",
    ("STUDYID", "ARMCD", "TAETORD"),
    (
        STUDYID,
        domain_var("TA"),
        Var("ARMCD", "Planned Arm Code", "text", 20, "", codelist="ARMCD", mandatory=True,
            origin="Assigned", role="Topic"),
        Var("ARM", "Description of Planned Arm", "text", 200, "", codelist="ARM",
            mandatory=True, origin="Assigned", role="Synonym Qualifier"),
        Var("TAETORD", "Planned Order of Element within Arm", "integer", 3, "",
            mandatory=True, origin="Assigned", role="Timing"),
        Var("ETCD", "Element Code", "text", 8, "", codelist="ETCD", mandatory=True,
            origin="Assigned", role="Record Qualifier"),
        Var("ELEMENT", "Description of Element", "text", 40, "", codelist="ELEMENT",
            origin="Assigned", role="Synonym Qualifier"),
        Var("EPOCH", "Epoch", "text", 20, "", codelist="EPOCH", mandatory=True,
            origin="Assigned", role="Timing"),
    ),
)  # fmt: skip
TE = Dataset(
    "TE", "Trial Elements", "TRIAL DESIGN", "One record per planned Element", ("STUDYID", "ETCD"),
    (
        STUDYID,
        domain_var("TE"),
        Var("ETCD", "Element Code", "text", 8, "", codelist="ETCD", mandatory=True,
            origin="Assigned", role="Topic"),
        Var("ELEMENT", "Description of Element", "text", 40, "", codelist="ELEMENT",
            mandatory=True, origin="Assigned", role="Synonym Qualifier"),
        Var("TESTRL", "Rule for Start of Element", "text", 200, "", mandatory=True,
            origin="Assigned", role="Rule"),
        Var("TEENRL", "Rule for End of Element", "text", 200, "", origin="Assigned",
            role="Rule"),
    ),
)  # fmt: skip
TESTRL = "First day of a menstrual period reported by the participant"
TEENRL = "Day before the first day of her next reported menstrual period"

SE = Dataset(
    "SE", "Subject Elements", "SPECIAL PURPOSE", "One record per actual Element per subject",
    ("STUDYID", "USUBJID", "SESEQ"),
    (
        STUDYID,
        domain_var("SE"),
        USUBJID,
        Var("SESEQ", "Sequence Number", "integer", 3, "m.number", mandatory=True,
            origin="Derived", role="Identifier"),
        Var("ETCD", "Element Code", "text", 8, "coalesce($treatment, 'UNPLAN')",
            blinded_sql=f"'BLK' || {BLOCK_SQL.replace('a.period_number', 'm.number')}",
            codelist="ETCD", mandatory=True, origin="Derived", role="Topic"),
        Var("ELEMENT", "Description of Element", "text", 40, text("left($treatment_name, 40)"),
            blinded_sql=f"'Cycle in block ' || {BLOCK_SQL.replace('a.period_number', 'm.number')}"
            " || ' (blinded)'", codelist="ELEMENT", origin="Derived",
            role="Synonym Qualifier"),
        Var("TAETORD", "Planned Order of Element within Arm", "integer", 3, "m.number",
            origin="Derived", role="Timing"),
        Var("EPOCH", "Epoch", "text", 20,
            f"'BLOCK ' || {BLOCK_SQL.replace('a.period_number', 'm.number')}", codelist="EPOCH",
            origin="Derived", role="Timing"),
        Var("SESTDTC", "Start Date/Time of Element", "date", 10, day("m.started_on"),
            mandatory=True, origin="Collected", role="Timing"),
        Var("SEENDTC", "End Date/Time of Element", "date", 10, day("$next_started_on"),
            origin="Collected", role="Timing"),
        Var("SEUPDES", "Description of Unplanned Element", "text", 40,
            "CASE WHEN $treatment IS NULL THEN 'Cycle before randomisation' END",
            blinded_sql="NULL::text", origin="Derived", role="Synonym Qualifier"),
    ),
)  # fmt: skip

SV = Dataset(
    "SV", "Subject Visits", "SPECIAL PURPOSE", "One record per planned visit per subject",
    ("STUDYID", "USUBJID", "VISITNUM"),
    (
        STUDYID,
        domain_var("SV"),
        USUBJID,
        VISITNUM,
        VISIT,
        Var("SVPRESP", "Pre-specified", "text", 1, "'Y'", codelist="NY", origin="Assigned",
            role="Variable Qualifier"),
        Var("SVOCCUR", "Occurrence", "text", 1,
            "CASE WHEN a.status = 'submitted' THEN 'Y' ELSE 'N' END", codelist="NY",
            origin="Derived", role="Record Qualifier"),
        Var("SVREASOC", "Reason for Occur Value", "text", 200,
            "CASE WHEN a.status = 'missed' THEN 'WINDOW CLOSED WITHOUT SUBMISSION' "
            f"WHEN a.status = 'excused' THEN {text('a.excused_reason')} END",
            origin="Collected", role="Record Qualifier"),
        EPOCH,
        Var("SVSTDTC", "Start Date/Time of Observation", "datetime", 19,
            instant("a.submitted_at"), origin="Collected", role="Timing"),
        Var("SVENDTC", "End Date/Time of Observation", "datetime", 19,
            instant("a.submitted_at"), origin="Collected", role="Timing"),
    ),
)  # fmt: skip

# QS and FA: one record per mapped item of each current response, and in QS one per derived
# scale score. `$answer` is the item's stored code as text (NULL when not answered), q the
# mapped test, lb the label of the answer's code (choice and gate items only), sc the score.
NOT_DONE_SQL = f"CASE WHEN $value IS NULL THEN {literal(NOT_DONE)} END"
REASON_SQL = f"""CASE WHEN $value IS NOT NULL THEN NULL
    WHEN q.derived AND NOT sc.applicable THEN {literal(REASON_NOT_APPLICABLE)}
    WHEN q.derived THEN {literal(REASON_TOO_FEW)}
    WHEN q.gate <> '' AND r.answers ->> q.gate = '0' THEN {literal(REASON_NOT_APPLICABLE)}
    ELSE {literal(REASON_NOT_ANSWERED)} END"""
# A score is the stored exact-to-4-decimals copy, written without trailing zeros (38.6364,
# 50); an answer its code (2) and, for choice items, the code's label (Sometimes).
VALUE_SQL = "CASE WHEN q.derived THEN trim_scale(sc.value)::text ELSE $answer END"


def findings(domain: str, label: str) -> Dataset:
    """QS or FA: the same record layout, FA with the object, method and unit of its tests."""
    d = domain
    qs = domain == "QS"
    head = [
        STUDYID,
        domain_var(domain),
        USUBJID,
        Var(
            f"{d}SEQ",
            "Sequence Number",
            "integer",
            8,
            "row_number() OVER (PARTITION BY p.subject_id ORDER BY a.period_number, q.ord)",
            mandatory=True,
            origin="Derived",
            role="Identifier",
        ),
        Var(
            f"{d}TESTCD",
            f"{'Question' if qs else 'Findings About Test'} Short Name",
            "text",
            8,
            "q.testcd",
            codelist=f"{d}TESTCD",
            mandatory=True,
            origin="Assigned",
            role="Topic",
        ),
        Var(
            f"{d}TEST",
            f"{'Question' if qs else 'Findings About Test'} Name",
            "text",
            40,
            "q.test",
            codelist=f"{d}TEST",
            mandatory=True,
            origin="Assigned",
            role="Synonym Qualifier",
        ),
    ]
    if not qs:
        head.append(
            Var(
                "FAOBJ",
                "Object of the Observation",
                "text",
                40,
                "q.obj",
                codelist="FAOBJ",
                mandatory=True,
                origin="Assigned",
                role="Record Qualifier",
            )
        )
    head.append(
        Var(
            f"{d}CAT",
            f"Category {'of Question' if qs else 'for Findings About'}",
            "text",
            40,
            "q.cat",
            codelist=f"{d}CAT",
            origin="Assigned",
            role="Grouping Qualifier",
        )
    )
    if qs:
        head.append(
            Var(
                "QSSCAT",
                "Subcategory for Question",
                "text",
                40,
                "q.scat",
                codelist="QSSCAT",
                origin="Assigned",
                role="Grouping Qualifier",
            )
        )
    result = [
        Var(
            f"{d}ORRES",
            "Result or Finding in Original Units",
            "text",
            40,
            "CASE WHEN q.derived THEN trim_scale(sc.value)::text ELSE coalesce(lb.label, $answer) "
            "END",
            origin="Collected",
            role="Result Qualifier",
        ),
    ]
    if not qs:
        result.append(
            Var(
                "FAORRESU",
                "Original Units",
                "text",
                8,
                "nullif(q.unit, '')",
                codelist="UNIT",
                origin="Assigned",
                role="Variable Qualifier",
            )
        )
    result += [
        Var(
            f"{d}STRESC",
            "Character Result/Finding in Std Format",
            "text",
            40,
            VALUE_SQL,
            origin="Derived",
            role="Result Qualifier",
        ),
        Var(
            f"{d}STRESN",
            "Numeric Result/Finding in Standard Units",
            "float",
            12,
            f"({VALUE_SQL})::numeric",
            origin="Derived",
            role="Result Qualifier",
        ),
    ]
    if not qs:
        result.append(
            Var(
                "FASTRESU",
                "Standard Units",
                "text",
                8,
                "nullif(q.unit, '')",
                codelist="UNIT",
                origin="Assigned",
                role="Variable Qualifier",
            )
        )
    result += [
        Var(
            f"{d}STAT",
            "Completion Status",
            "text",
            8,
            NOT_DONE_SQL,
            codelist="ND",
            origin="Derived",
            role="Record Qualifier",
        ),
        Var(
            f"{d}REASND",
            "Reason Not Done",
            "text",
            40,
            REASON_SQL,
            codelist="REASND",
            origin="Derived",
            role="Record Qualifier",
        ),
    ]
    if qs:
        result.append(
            Var(
                "QSDRVFL",
                "Derived Flag",
                "text",
                1,
                "CASE WHEN q.derived THEN 'Y' END",
                codelist="NY",
                origin="Assigned",
                role="Record Qualifier",
            )
        )
    else:
        result.append(
            Var(
                "FAMETHOD",
                "Method of Test or Examination",
                "text",
                40,
                "nullif(q.method, '')",
                codelist="METHOD",
                origin="Assigned",
                role="Record Qualifier",
            )
        )
    timing = [
        VISITNUM,
        VISIT,
        EPOCH,
        Var(
            f"{d}DTC",
            "Date/Time of Collection",
            "datetime",
            19,
            instant("r.submitted_at"),
            origin="Collected",
            role="Timing",
        ),
        Var(
            f"{d}EVLINT" if qs else "FAEVINTX",
            "Evaluation Interval" if qs else "Evaluation Interval Text",
            "text",
            40,
            "nullif(q.evlint, '')" if qs else "nullif(q.evintx, '')",
            codelist=f"{d}EVLINT" if qs else "FAEVINTX",
            origin="Assigned",
            role="Timing",
        ),
    ]
    keys = ("STUDYID", "USUBJID", f"{d}TESTCD", "VISITNUM")
    return Dataset(domain, label, "FINDINGS" if qs else "FINDINGS ABOUT",
                   f"One record per {'questionnaire item or derived score' if qs else 'finding'}"
                   " per visit per subject", keys, (*head, *result, *timing))  # fmt: skip


QS = findings("QS", "Questionnaires")
FA = findings("FA", "Findings About Events or Interventions")

DATASETS = (DM, TA, TE, SE, SV, QS, FA)
DATASET_NAMES = tuple(d.name for d in DATASETS)


def dataset(name: str) -> Dataset:
    return next(d for d in DATASETS if d.name == name)
