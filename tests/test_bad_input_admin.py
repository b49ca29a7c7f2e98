"""Bad input on the admin: the query parameters every model admin accepts (`_to_field`, field
lookups, ordering, page, search) and the audit export's date filters.

Each property requests a crafted URL as a superuser with a study role or as the unblinded
statistician (between them every admin page opens) and checks: no server error, a refusal is a
400/403/404 or Django's redirect to the list with `?e=1`, and nothing stored. See
tests/bad_input.py for how examples are isolated.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from diary.models import AuditAction, AuditEvent
from tests.bad_input import BOUNDED, FEW, example_isolated, junk_text, snapshot, text_of

pytestmark = pytest.mark.django_db

ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDENTITIES = ("admin", "statistician")
REFUSALS = {400, 403, 404}
LOOKUPS = ["", "__exact", "__iexact", "__in", "__isnull", "__gte", "__lt", "__range",
           "__regex", "__contains", "__year", "__date", "__pk", "__id", "__nosuch"]  # fmt: skip


def field_names(model, *, depth: int = 2) -> list[str]:
    """Every name the model's fields answer to (reverse relations and hidden ones included),
    and the paths through its relations up to `depth` steps."""
    names = []
    for field in model._meta.get_fields(include_hidden=True):
        name = field.name
        names.append(name)
        if depth > 1 and field.is_relation and field.related_model not in (None, model):
            names += [f"{name}__{inner}" for inner in field_names(field.related_model, depth=1)]
    return names


FIELDS_BY_ADMIN = {model._meta.label: field_names(model) for model, _ in ADMINS}


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def add_page(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def fine(response) -> bool:
    """An answer, not a failure: a page, a refusal, or a redirect (Django sends a lookup it
    cannot apply back to the list with ?e=1)."""
    return response.status_code in {200, 302, *REFUSALS}


@st.composite
def to_field_requests(draw) -> tuple[str, str, str]:
    """(identity, URL, _to_field value): a name the model answers to, or junk."""
    model, _ = draw(st.sampled_from(ADMINS))
    value = draw(st.one_of(st.sampled_from(FIELDS_BY_ADMIN[model._meta.label]), junk_text(60)))
    url = draw(st.sampled_from([changelist(model), add_page(model)]))
    return draw(st.sampled_from(IDENTITIES)), url, value


@BOUNDED
@given(request=to_field_requests())
def test_any_to_field_on_any_admin_is_a_page_or_a_refusal_never_a_server_error(
    client, world, request
):
    identity, url, value = request
    with example_isolated():
        client.force_login(getattr(world, identity))
        before = snapshot()
        response = client.get(url, {TO_FIELD_VAR: value})
        assert fine(response), (url, value, response.status_code)
        assert snapshot() == before


def test_a_reverse_relation_as_to_field_is_a_clear_400(client, world):
    """Regression: `?_to_field=allocation` on participants was an AttributeError (500):
    Django's to_field_allowed read `primary_key` from the reverse one-to-one relation."""
    client.force_login(world.statistician)
    response = client.get(
        reverse("admin:diary_participant_changelist"), {"_to_field": "allocation"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(("model", "model_admin"), ADMINS, ids=[m._meta.label for m, _ in ADMINS])
def test_no_admin_takes_a_relation_without_a_column_as_to_field(client, world, model, model_admin):
    """The whole family, for every registered admin: each reverse relation and many-to-many."""
    client.force_login(world.admin)
    request = client.get(changelist(model)).wsgi_request
    for field in model._meta.get_fields(include_hidden=True):
        if not field.concrete:
            assert not model_admin.to_field_allowed(request, field.name), field.name


@st.composite
def lookup_requests(draw) -> tuple[str, str, dict[str, str]]:
    """(identity, changelist URL, GET parameters): field lookups over the model's relations,
    ordering, page, search and the admin's own flags, with odd values."""
    model, _ = draw(st.sampled_from(ADMINS))
    names = FIELDS_BY_ADMIN[model._meta.label]
    lookup = draw(st.sampled_from(names)) + draw(st.sampled_from(LOOKUPS))
    value = draw(
        st.one_of(
            junk_text(60),
            st.dates(min_value=date.min, max_value=date.max).map(str),
            st.sampled_from([str(date.min), str(date.max), "9999-12-31 23:59:59", "1,2", "0"]),
        )
    )
    params = {lookup: value}
    extra = draw(
        st.dictionaries(
            st.sampled_from(
                [
                    ORDER_VAR,
                    PAGE_VAR,
                    SEARCH_VAR,
                    ERROR_FLAG,
                    IS_POPUP_VAR,
                    ALL_VAR,
                    IS_FACETS_VAR,
                    "_changelist_filters",
                ]
            ),
            st.one_of(junk_text(30), st.integers().map(str)),
            max_size=3,
        )
    )
    return draw(st.sampled_from(IDENTITIES)), changelist(model), {**params, **extra}


@BOUNDED
@given(request=lookup_requests())
def test_any_lookup_on_any_admin_list_is_a_page_or_a_refusal_never_a_server_error(
    client, world, request
):
    identity, url, params = request
    with example_isolated():
        client.force_login(getattr(world, identity))
        before = snapshot()
        response = client.get(url, params)
        assert fine(response), (url, params, response.status_code)
        assert snapshot() == before


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/admin/axes/accessfailurelog/", {"id__range": "0"}),
        ("/admin/axes/accessfailurelog/", {"id__range": ""}),
        ("/admin/pghistory/events/", {"pgh_slug__range": "1_0"}),
        ("/admin/diary/participant/", {"enrolled_at__range": "2026-01-01,2026-02-01"}),
        ("/admin/pghistory/events/", {"pgh_slug": "\x00"}),
        ("/admin/auth/user/", {"username": "\x00"}),
    ],
)
def test_a_range_lookup_or_a_nul_character_is_a_clear_400(client, world, url, params):
    """Regressions the lookup property found: a `__range` from a URL is a string whose
    characters became the bounds (IndexError, placeholder mismatch), and PostgreSQL refuses a
    NUL character (DataError): 500s, now refused like any lookup the admin does not allow."""
    client.force_login(world.statistician if "pghistory" in url else world.admin)
    assert client.get(url, params).status_code == 400


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/admin/axes/accessfailurelog/", {"ip_address": "0"}),
        ("/admin/axes/accessattempt/", {"ip_address__in": "1.2.3.4,x"}),
    ],
)
def test_a_value_the_column_cannot_take_goes_back_to_the_list(client, world, url, params):
    """Regression: `?ip_address=0` failed in the driver (ValueError, 500) when the list's
    query ran; now it is answered as any lookup the admin cannot apply."""
    client.force_login(world.admin)
    response = client.get(url, params)
    assert response.status_code == 302 and response.url.endswith("?e=1")
    assert client.get(response.url).status_code == 200


def test_facets_on_the_row_history_are_simply_not_offered(client, world):
    """Regression: `?_facets` on pghistory's list was a TypeError (500)."""
    client.force_login(world.statistician)
    response = client.get("/admin/pghistory/events/", {"pgh_slug": "", "_facets": ""})
    assert response.status_code in (200, 302)


# ---- the audit export's dates ------------------------------------------------------------------

EDGES = [date.min, date.min + timedelta(days=1), date(1999, 12, 31), date(3000, 1, 1),
         date.max - timedelta(days=1), date.max]  # fmt: skip


def dates_at_the_edges() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGES).map(str),
        st.dates(min_value=date.min, max_value=date.max).map(str),
        st.sampled_from(["", "10000-01-01", "0000-01-01", "2026-02-30", "-1-01-01"]),
        junk_text(30),
    )


# Both views of the trail that take dates: the study audit CSV (as the monitor) and the
# system audit view (as the superuser with a study role).
DATED_PAGES = [("admin:audit_export", "monitor"), ("admin:system_audit", "admin")]


@pytest.mark.parametrize(("page", "who"), DATED_PAGES)
@BOUNDED
@given(since=dates_at_the_edges(), until=dates_at_the_edges())
def test_audit_export_dates_anywhere_in_the_calendar_download_or_say_why_not(
    client, world, page, who, since, until
):
    with example_isolated():
        client.force_login(getattr(world, who))
        response = client.get(reverse(page), {"download": "1", "since": since, "until": until})
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert not response.streaming
            assert any(
                message in text_of(response)
                for message in (
                    "Enter a valid date.",
                    "Enter a date from 2000-01-01 to 2999-12-31.",
                    "Null characters are not allowed.",
                )
            )
            assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()
        else:
            body = b"".join(response.streaming_content).decode()
            assert next(csv.reader(io.StringIO(body)))[0] == "occurred_at_utc"


@pytest.mark.parametrize(("page", "who"), DATED_PAGES)
@pytest.mark.parametrize("until", ["9999-12-31", "0001-01-01", "10000-01-01"])
def test_an_audit_export_until_the_end_of_the_calendar_is_a_clear_400(
    client, world, page, who, until
):
    """Regression: `?download=1&until=9999-12-31` was an OverflowError (500): the day after the
    calendar's last one."""
    client.force_login(getattr(world, who))
    response = client.get(reverse(page), {"download": "1", "until": until})
    assert response.status_code == 400
    assert not response.streaming
    text = text_of(response)
    assert "Enter a date from 2000-01-01 to 2999-12-31." in text or "Enter a valid date." in text
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


@FEW
@given(until=st.sampled_from([date(2999, 12, 31), date(2000, 1, 1)]))
def test_the_edges_of_the_allowed_span_download(client, world, until):
    with example_isolated():
        client.force_login(world.monitor)
        response = client.get(reverse("admin:audit_export"), {"download": "1", "until": str(until)})
        assert response.status_code == 200 and response.streaming
        b"".join(response.streaming_content)
