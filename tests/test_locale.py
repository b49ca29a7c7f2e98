"""The Danish catalogue is complete and its compiled .mo matches the .po (both are committed,
since GNU gettext is not on every machine)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "da" / "LC_MESSAGES"


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr (msgstr[0] for plurals) of a .po file written by makemessages."""
    entries: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d\]) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries[fields["msgid"]] = fields.get("msgstr", fields.get("msgstr[0]", ""))
    return entries


_PO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """A .po string as gettext reads it: \\" \\n \\t and \\\\ (a date format's escaped letters)."""
    return re.sub(r"\\(.)", lambda m: _PO_ESCAPES.get(m.group(1), m.group(0)), text)


def test_every_danish_message_is_translated():
    untranslated = [
        msgid for msgid, msgstr in po_entries(LOCALE / "django.po").items() if not msgstr
    ]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in po_entries(LOCALE / "django.po").items():
        assert compiled.gettext(unescape(msgid)) == unescape(msgstr), msgid
