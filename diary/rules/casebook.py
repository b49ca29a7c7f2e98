"""Pure rules of the casebook: its canonical serialisation and hash, and how late a change is.

No Django, no clock: the selector hands in plain values, the caller hands in the instants.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

# The version of the serialisation below. A signature records the one it was hashed under;
# changing what goes into the casebook (a field added) is a new version, never an edit.
CASEBOOK_FORMAT = "casebook-1"


def casebook_canonical(content: dict[str, Any]) -> bytes:
    """`content` (plain JSON values) as bytes that do not depend on key order or spacing:
    keys sorted, no whitespace, UTF-8. Two equal casebooks give equal bytes."""
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def casebook_hash(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical serialisation: what a signature is bound to."""
    return hashlib.sha256(casebook_canonical(content)).hexdigest()


def late_by(*, closes_at: datetime | None, changed_at: datetime) -> timedelta | None:
    """How long after the window closed a change was made; None when it was made inside the
    window, or when the window has no end."""
    if closes_at is None or changed_at <= closes_at:
        return None
    return changed_at - closes_at


def late_label(delay: timedelta | None) -> str:
    """'3 days 4 hours after the window closed', '25 minutes after ...'; '' when not late."""
    if delay is None:
        return ""
    days, seconds = delay.days, delay.seconds
    hours, minutes = seconds // 3600, (seconds % 3600) // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and (minutes or not hours):
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) + " after the window closed"
