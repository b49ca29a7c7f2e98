"""Simulated participants for bench_reliability (and tests/reliability): the data they need
and the questionnaire flow they run over HTTP (bench/reliability_checks.py then reads what the
database holds).

Each participant is one thread with its own keep-alive connection and session. For each of
her open questionnaires, in order, she saves every page as a draft (POST, as the browser does
on "Next"), then submits on the review page. Now and then she also replays the submission
(a back button and resend) or double-clicks it (two POSTs at once on two connections): those
must be refused as duplicates, and nothing may be stored twice.

A submission POST is answered with a redirect to the done page either way; a refused duplicate
is told so through a message, which Django's cookie message storage sends in a `messages`
cookie on that same redirect. That is how accepted and refused are told apart without an extra
request.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from bench.bench_submit import PASSWORD, Client, participant_with_open_windows, percentiles

REPLAY_EVERY = 3  # every third submission is replayed afterwards
DOUBLE_CLICK_EVERY = 5  # every fifth is sent twice at once


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """The simulated participants of one study, ready to log in."""

    study_id: int
    subjects: list[tuple[str, list[int]]]  # (subject id, open assessment ids in order)
    pages: list[list[tuple[str, str]]]  # per questionnaire page: (item variable, kind)


def cohort_create(*, participants: int, periods: int, code: str = "RELIABILITY") -> Cohort:
    """A study of `participants` active participants, each with `periods` questionnaires open
    now (windows opened directly: bench data, not a participant's period reports)."""
    from django.contrib.auth.hashers import MD5PasswordHasher
    from django.utils import timezone

    from diary.models import Site, Study
    from diary.selectors.questionnaire import questionnaire_steps

    study = Study.objects.create(
        code=code,
        name="Reliability benchmark",
        number_of_periods=periods,
        periods_per_block=periods,
        instruments=["ehp30", "vas_dysmenorrhea"],
        # Four digits: more participants than one site of a real study has.
        subject_id_pattern=r"R01-[0-9]{4}",
        subject_id_example="R01-0001",
    )
    site = Site.objects.create(study=study, code="R01", name="Reliability site")
    now = timezone.now()
    # See bench/reliability_settings.py: a cheap hash, so that logging in is not the load.
    hasher = MD5PasswordHasher()
    password = hasher.encode(PASSWORD, hasher.salt())
    subjects = []
    for number in range(1, participants + 1):
        subject_id = f"R01-{number:04d}"
        ids = participant_with_open_windows(
            study=study, site=site, subject_id=subject_id, password=password, now=now
        )
        subjects.append((subject_id, ids))
    pages = [
        [(item.key, item.kind) for item in step.items]
        for step in questionnaire_steps(study=study, language="en")
    ]
    return Cohort(study_id=study.pk, subjects=subjects, pages=pages)


# --- the simulated participant --------------------------------------------------------------


class Participant(Client):
    """bench_submit's client, also keeping the redirect target and whether the response said
    "already submitted" (Django's `messages` cookie, which is never sent back)."""

    location: str = ""
    refused: bool = False

    timeout: ClassVar[float] = 60.0

    def received(self, response: http.client.HTTPResponse) -> None:
        self.location = response.headers.get("Location", "")
        self.refused = False

    def cookie_received(self, name: str, value: str) -> None:
        if name == "messages":
            self.refused = self.refused or bool(value)
        else:
            self.cookies[name] = value

    def twin(self) -> Participant:
        """A second tab: the same session on a connection of its own."""
        other = Participant(self.port)
        other.cookies = dict(self.cookies)
        return other


@dataclass
class Tally:
    """What the clients saw during one phase; shared by every client thread."""

    requests: int = 0
    touched: set[int] = field(default_factory=set)  # assessment ids the clients worked on
    accepted: set[int] = field(default_factory=set)  # assessment ids whose submission succeeded
    accepted_at: list[float] = field(default_factory=list)  # monotonic time of each acceptance
    duplicates_sent: int = 0
    duplicates_refused: int = 0
    accepted_twice: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    submit_latencies: list[float] = field(default_factory=list)
    exhausted: int = 0  # clients that ran out of questionnaires before the time was up
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def lines(self) -> list[str]:
        p50, p95 = percentiles(self.latencies)
        s50, s95 = percentiles(self.submit_latencies)
        rate = self.requests / self.elapsed if self.elapsed else 0.0
        return [
            f"  requests {self.requests} in {self.elapsed:.1f} s ({rate:.0f}/s), errors "
            f"{self.error_count}" + (f" {dict(self.errors)}" if self.errors else ""),
            f"  latency all requests p50 {p50:.0f} ms p95 {p95:.0f} ms; "
            f"submission POST p50 {s50:.0f} ms p95 {s95:.0f} ms",
            f"  submissions accepted {len(self.accepted)}; duplicates sent "
            f"{self.duplicates_sent}, refused {self.duplicates_refused}, accepted twice "
            f"{self.accepted_twice}"
            + (f"; {self.exhausted} clients ran out of questionnaires" if self.exhausted else ""),
        ]


def _timed(tally: Tally, client: Participant, path: str, body: dict, *, submit: bool = False):
    """One POST; returns the status (0 for an exception) and records time and request count."""
    began = time.perf_counter()
    try:
        status, _ = client.request("POST", path, body)
    except (OSError, http.client.HTTPException) as exc:
        client.connection = None
        tally.error(type(exc).__name__)
        return 0
    seconds = time.perf_counter() - began
    with tally.lock:
        tally.requests += 1
        tally.latencies.append(seconds)
        if submit:
            tally.submit_latencies.append(seconds)
    return status


def _page_body(client: Participant, page: list[tuple[str, str]], seed: int) -> dict:
    body = client.form() | {"nav": "next"}
    for offset, (key, kind) in enumerate(page):
        body[key] = str((seed * 7 + offset) % 101 if kind == "integer" else (seed + offset) % 5)
    return body


def _submit(tally: Tally, client: Participant, pk: int) -> str:
    """POST the review page; returns accepted, refused or error."""
    status = _timed(tally, client, f"/diary/questionnaire/{pk}/review/", client.form(), submit=True)
    if status == 0:
        return "error"
    if status != 302 or not client.location.endswith(f"/diary/questionnaire/{pk}/done/"):
        tally.error(f"submit HTTP {status} -> {client.location or '-'}")
        return "error"
    return "refused" if client.refused else "accepted"


def questionnaire_fill(tally: Tally, client: Participant, pk: int, pages, serial: int) -> None:
    """Save every page, submit, and sometimes replay or double-click the submission."""
    with tally.lock:
        tally.touched.add(pk)
    for number, page in enumerate(pages, start=1):
        path = f"/diary/questionnaire/{pk}/page/{number}/"
        status = _timed(tally, client, path, _page_body(client, page, pk + number))
        if status != 302:
            if status:
                tally.error(f"draft HTTP {status}")
            return
    if serial % DOUBLE_CLICK_EVERY == DOUBLE_CLICK_EVERY - 1:
        second = client.twin()
        outcomes: list[str] = []
        other = threading.Thread(target=lambda: outcomes.append(_submit(tally, second, pk)))
        other.start()
        outcomes.append(_submit(tally, client, pk))
        other.join()
        if second.connection is not None:
            second.connection.close()
    else:
        outcomes = [_submit(tally, client, pk)]
    if serial % REPLAY_EVERY == REPLAY_EVERY - 1:
        outcomes.append(_submit(tally, client, pk))
    with tally.lock:
        accepted = outcomes.count("accepted")
        tally.duplicates_sent += len(outcomes) - 1
        tally.duplicates_refused += outcomes.count("refused")
        if accepted:
            tally.accepted.add(pk)
            tally.accepted_at.append(time.monotonic())
        tally.accepted_twice += max(0, accepted - 1)


def clients_login(port: int, cohort: Cohort) -> list[tuple[Participant, Iterator[int]]]:
    """Log every participant in through the login page; each keeps the iterator of her open
    questionnaires across phases."""
    clients = []
    for subject_id, assessment_ids in cohort.subjects:
        client = Participant(port)
        client.log_in(subject_id)
        clients.append((client, iter(assessment_ids)))
    return clients


def load_run(
    clients: list[tuple[Participant, Iterator[int]]],
    pages,
    *,
    seconds: float,
    per_client: int = 0,
    during: Callable[[float], None] | None = None,
) -> Tally:
    """Every client fills in questionnaires, one after the other, until `seconds` have passed
    (a questionnaire begun is finished) or, when given, `per_client` are done. `during`, if
    given, runs in a thread of its own with the phase's start time (monotonic), to break
    something while the load goes on; it must return within the phase."""
    tally = Tally()
    for client, _ in clients:
        # Fresh connections: the previous phase's may have idled past gunicorn's keep-alive.
        if client.connection is not None:
            client.connection.close()
            client.connection = None
    start = threading.Barrier(len(clients) + 1)
    began = 0.0

    def run(client: Participant, assessments: Iterator[int]) -> None:
        start.wait()
        deadline = began + seconds
        for serial in range(per_client or 10**9):
            if time.monotonic() > deadline:
                return
            pk = next(assessments, None)
            if pk is None:
                with tally.lock:
                    tally.exhausted += 1
                return
            questionnaire_fill(tally, client, pk, pages, serial)

    threads = [threading.Thread(target=run, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    start.wait()
    breaker = None
    if during is not None:
        breaker = threading.Thread(target=during, args=(began,))
        breaker.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    if breaker is not None:
        breaker.join(timeout=seconds + 120)
    tally.elapsed = time.monotonic() - began
    if any(thread.is_alive() for thread in threads):
        tally.error("client thread still running after its time limit")
    return tally
