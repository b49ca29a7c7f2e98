"""An unblinded export run to the end, and what a blinded reader must never find of it: each
file's SHA-256, name, byte and row counts (the fingerprint a blinded monitor matched against
every candidate allocation, issue 13 item 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from diary.models import AuditAction, AuditEvent, Study
from diary.services.exports import ExportRequest, export_start


@dataclass(frozen=True)
class Fingerprint:
    event: AuditEvent
    patterns: dict[str, re.Pattern[str]]

    def found_in(self, text: str) -> list[str]:
        return sorted(name for name, pattern in self.patterns.items() if pattern.search(text))


def unblinded_export_run(*, study: Study, user, kinds: tuple[str, ...] = ("wide", "long")):
    """The statistician's unblinded export, read to the end (so it is audited)."""
    export = export_start(user=user, request=ExportRequest(study=study, kinds=kinds, blinded=False))
    b"".join(export.chunks)
    event = AuditEvent.objects.filter(action=AuditAction.EXPORTED, actor=user).latest("pk")
    assert event.details["blinded"] is False and event.details["complete"] is True
    patterns: dict[str, re.Pattern[str]] = {}
    for file in event.details["files"]:
        name = file["name"]
        patterns[f"sha256 of {name}"] = re.compile(file["sha256"])
        patterns[f"name {name}"] = re.compile(re.escape(name))
        # The byte count standing on its own (any page, CSV or JSON), and the row count next
        # to it: alone, a small row count would be found in any list's numbers (and the
        # blinded file of the same kind has the same rows, so that number alone tells nothing).
        size, rows = file["bytes"], file["rows"]
        assert size >= 1000, "a file too small to fingerprint distinctly"
        patterns[f"bytes of {name}"] = re.compile(rf"(?<![\w.-]){size}(?![\w.-])")
        patterns[f"rows of {name}"] = re.compile(
            rf"rows\W{{1,12}}{rows}\b.{{0,80}}\b{size}\b|\b{size}\b.{{0,80}}rows\W{{1,12}}{rows}\b",
            re.DOTALL,
        )
    return Fingerprint(event, patterns)
