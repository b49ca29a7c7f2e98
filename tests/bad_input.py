"""Shared pieces of the bad-input tests (tests/test_bad_input_*.py).

Each hypothesis example posts one malformed payload to a participant form and checks three
things: no server error, a message the participant can act on, and nothing stored.

Isolation: the tests use pytest-django's plain `django_db`, so the whole test runs in one
transaction and every hypothesis example runs inside it. `example_isolated()` wraps one example in
a savepoint that is always rolled back: whatever the request wrote (an accepted draft, a django-axes
failure counter, a session change) is undone before the next example, so examples stay
independent, and `snapshot()` taken before and after one request sees that request's writes only.
"""

from __future__ import annotations

import html
import operator
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from diary.models import (
    Assessment,
    AuditAction,
    AuditEvent,
    Invitation,
    MenstrualPeriod,
    Participant,
    Response,
    ResponseDraft,
)

# Examples per property: small enough for the suite's time budget; BAD_INPUT_EXAMPLES=500 runs a
# deeper search by hand. The world fixture is function-scoped on purpose: every example is
# rolled back to it (above).
EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "30"))
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(BOUNDED, max_examples=max(5, EXAMPLES * 2 // 5))

# Audit events a refused request may leave (a failed login is worth recording); any other kind
# means something was done.
REFUSAL_EVENTS = {AuditAction.LOGIN_FAILED, AuditAction.LOCKOUT}


@contextmanager
def example_isolated() -> Iterator[None]:
    """Run one hypothesis example in a savepoint that is rolled back afterwards (see above)."""
    savepoint = transaction.savepoint()
    mail.outbox = []
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def snapshot() -> dict[str, Any]:
    """Everything a participant's request could store, to compare before and after one."""
    return {
        "responses": list(Response.objects.order_by("pk").values_list("pk", "answers")),
        "periods": list(
            MenstrualPeriod.objects.order_by("pk").values_list(
                "pk", "participant_id", "number", "started_on", "ended_on"
            )
        ),
        "drafts": list(
            ResponseDraft.objects.order_by("pk").values_list(
                "pk", "assessment_id", "answers", "metadata", "submitted_at"
            )
        ),
        "assessments": list(
            Assessment.objects.order_by("pk").values_list("pk", "status", "opens_at", "closes_at")
        ),
        "participants": list(
            Participant.objects.order_by("pk").values_list("pk", "language", "status")
        ),
        "passwords": list(get_user_model().objects.order_by("pk").values_list("pk", "password")),
        "invitations": list(
            Invitation.objects.order_by("pk").values_list("pk", "used_at", "revoked_at")
        ),
        "events": Counter(
            AuditEvent.objects.exclude(action__in=REFUSAL_EVENTS).values_list("action", flat=True)
        ),
        "mails": len(mail.outbox),
    }


def text_of(response) -> str:
    """The page's text with HTML entities decoded, so "'abc'" reads as typed."""
    return html.unescape(response.content.decode(errors="replace"))


# ---- strategies ----------------------------------------------------------------------------------

# Hand-picked payloads hypothesis would rarely find: look-alike digits Python's int() accepts,
# number syntaxes, JSON, NUL bytes, markup, right-to-left override, emoji.
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "3\x00",
    "\x003",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: int() reads it as 3
    "\uff13",  # FULLWIDTH DIGIT THREE
    "\U0001d7d1",  # MATHEMATICAL BOLD DIGIT THREE
    "+3",
    "1_0",
    "3.0",
    "2.5",
    "1e2",
    "0x3",
    "-0",
    "-1",
    "5",
    "101",
    "99999",
    "9" * 30,
    "9" * 5000,
    "NaN",
    "Infinity",
    "null",
    "true",
    "[1, 2]",
    '{"code": 3}',
    "<script>alert(1)</script>",
    "'; DROP TABLE diary_response; --",
    "\u202e3",
    "🙂",
    "é" * 300,
    "\u0130" * 254,  # "İ": within a 254-character limit, but lowercases to 508 characters
]


def huge_text() -> st.SearchStrategy[str]:
    """Long strings built cheaply (one character repeated), at most 320 kB encoded, so that a
    form of five such fields stays under DATA_UPLOAD_MAX_MEMORY_SIZE (2 MB) and reaches the view;
    bodies over the limit have their own tests."""
    return st.builds(
        operator.mul,
        st.sampled_from(["x", "9", "é", "\x00", "🙂", "<"]),
        st.integers(min_value=255, max_value=80_000),
    )


def junk_text(max_size: int = 200) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=max_size),
        st.integers().map(str),
        st.floats().map(str),
        huge_text(),
    )
