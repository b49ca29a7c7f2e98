"""Quiet logs: a refused request (403, 404) is one log line, never a traceback; errors keep theirs.

Django logs a refusal raised as an exception (Http404, PermissionDenied) with the exception
attached, so every 404 printed a traceback, and with DEBUG on (`make run`) twice: once by
Django's own console handler and once by the root's.
"""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.log import configure_logging

from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def refused_urls(world) -> dict[str, tuple[str, set[int]]]:
    return {
        # A custom page for staff without a membership: Http404.
        "custom page": (reverse("admin:diary_participant_compliance"), {404}),
        # A model admin without the model's permission: Django's PermissionDenied (or 404).
        "model admin": (reverse("admin:diary_participant_changelist"), {403, 404}),
        # Another participant's questionnaire, as a participant: Http404.
        "participant side": (reverse("diary:questionnaire", args=[999999]), {404}),
    }


def client_for(world, which: str) -> Client:
    client = Client()
    if which == "participant side":
        client.force_login(world.participant_a.user)
    else:
        client.force_login(make_staff("stranger"))
    return client


@pytest.mark.parametrize("which", ["custom page", "model admin", "participant side"])
def test_a_refused_request_is_one_record_without_a_traceback(world, caplog, which):
    url, statuses = refused_urls(world)[which]
    client = client_for(world, which)
    with caplog.at_level(logging.INFO):
        response = client.get(url)
    assert response.status_code in statuses
    records = [r for r in caplog.records if r.name.startswith("django")]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None
    assert records[0].exc_text is None
    assert url in records[0].getMessage()


def test_an_error_keeps_its_traceback(caplog):
    """Only refusals lose the exception: a 500 is still logged with it."""
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.INFO):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            logger.error("Internal Server Error: /x", exc_info=exc, extra={"status_code": 500})
    (record,) = caplog.records
    assert record.exc_info is not None


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
    ]


@pytest.fixture
def make_run_console():
    """Logging configured as `make run` configures it (DEBUG on), every console handler
    writing into the returned buffer; the test settings' configuration is restored after."""
    console = io.StringIO()
    with override_settings(DEBUG=True):
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    for handler in _stream_handlers():
        handler.setStream(console)
    yield console
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@pytest.mark.parametrize("which", ["custom page", "model admin", "participant side"])
def test_make_run_prints_one_line_per_refusal(world, make_run_console, which):
    url, _ = refused_urls(world)[which]
    client = client_for(world, which)
    with override_settings(DEBUG=True):
        client.get(url)
    lines = make_run_console.getvalue().splitlines()
    assert len([line for line in lines if url in line]) == 1, lines
    assert not any("Traceback" in line for line in lines), lines
