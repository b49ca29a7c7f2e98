"""Spreadsheet formula injection: the one definition of the cells that are neutralised.

Pure: no Django import. A text cell that starts with one of FORMULA_STARTS could be run as a
formula by Excel, LibreOffice or Google Sheets when a CSV is opened (OWASP "CSV injection"), so
it is written with an apostrophe in front; the stored value is never changed. The Python form
serves the CSV files written in Python (the audit trail), the SQL form the files PostgreSQL
writes (the exports); both are built from the same constant and tested to agree.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"

# How each start is written inside a PostgreSQL bracket expression; "-" is placed last, where
# it is a literal and not a range.
_IN_BRACKETS = {"=": "=", "+": "+", "@": "@", "\t": r"\t", "\r": r"\r"}


def formula_neutralise(value: str) -> str:
    """`value` with the prefix when a spreadsheet could take it for a formula."""
    return PREFIX + value if value[:1] in FORMULA_STARTS else value


def formula_neutralise_sql(expr: str) -> str:
    """The same rule as an SQL expression over the text expression `expr` (NULL stays NULL)."""
    starts = "".join(_IN_BRACKETS[c] for c in FORMULA_STARTS if c != "-")
    if "-" in FORMULA_STARTS:
        starts += "-"
    prefix = PREFIX.replace("'", "''")
    return f"CASE WHEN {expr} ~ '^[{starts}]' THEN '{prefix}' || {expr} ELSE {expr} END"
