"""The installable diary: manifest, service worker, which pages the worker may keep, logout."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from diary.views.offline import SHELL_FILES
from tests.diary.journey import open_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


def test_the_manifest_names_the_diary_its_start_page_and_installable_icons(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Study diary"
    assert manifest["start_url"] == "/diary/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon.get("purpose") != "maskable"}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        path = icon["src"].removeprefix("/static/")
        with open(finders.find(path), "rb") as png:
            assert png.read(8) == b"\x89PNG\r\n\x1a\n", icon["src"]


def test_the_service_worker_is_a_script_at_the_site_root_under_the_sites_csp(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    body = response.content.decode()
    for name in SHELL_FILES:
        assert f'"/static/{name}"' in body  # precached: the app shell loads offline
        assert finders.find(name), name
    assert 'addEventListener("fetch"' in body
    assert "{{" not in body and "{%" not in body


def test_the_service_worker_shows_pushed_reminders_and_opens_only_the_diary(client):
    body = client.get("/sw.js").content.decode()
    assert 'addEventListener("push"' in body
    assert "showNotification(" in body
    assert 'addEventListener("notificationclick"' in body
    assert "importScripts" not in body  # one script: nothing else to fetch or keep in step
    assert "target.origin !== self.location.origin" in body


def test_the_service_worker_is_revalidated_cheaply(client):
    """no-cache: the browser asks each time, and an unchanged worker costs a 304, no body."""
    first = client.get("/sw.js")
    again = client.get("/sw.js", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""


def test_every_participant_page_loads_the_offline_script_and_links_the_manifest(client_a, world):
    text = client_a.get(reverse("diary:home")).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in text
    assert 'src="/static/diary/offline.js"' in text
    assert f'data-owner="{world.participant_a.user.pk}"' in text
    assert 'aria-live="polite"' in text and "data-offline-banner" in text
    assert "data-logout" in text


def test_her_home_and_questionnaire_pages_may_be_kept_on_her_device(client_a, world):
    assessment = open_assessment(world.participant_a)
    for url in (
        reverse("diary:home"),
        reverse("diary:questionnaire", args=[assessment.pk]),
        reverse("diary:questionnaire_page", args=[assessment.pk, 1]),
        reverse("diary:questionnaire_review", args=[assessment.pk]),
    ):
        response = client_a.get(url)
        assert response.status_code == 200
        assert response["X-Offline-Cache"] == "1", url


def test_no_other_page_is_marked_for_keeping(client, client_a, world, django_user_model):
    theirs = open_assessment(world.participant_b)
    refused = client_a.get(reverse("diary:questionnaire_page", args=[theirs.pk, 1]))
    assert refused.status_code == 404
    assert "X-Offline-Cache" not in refused
    saved = client_a.post(
        reverse("diary:questionnaire_page", args=[open_assessment(world.participant_a).pk, 1]),
        {"ehp30_q01": "1"},
        headers={"X-Autosave": "1"},
    )
    assert saved.status_code == 200 and "X-Offline-Cache" not in saved
    anonymous = Client()
    for url in (reverse("diary:login"), reverse("diary:home"), reverse("diary:password_forgotten")):
        assert "X-Offline-Cache" not in anonymous.get(url), url
    staff = Client()
    staff.force_login(world.coordinator1)
    for url in (reverse("admin:index"), reverse("diary:home")):
        assert "X-Offline-Cache" not in staff.get(url), url


def test_logging_out_lands_on_the_page_that_clears_the_device(client_a):
    response = client_a.post(reverse("diary:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("diary:logged_out")
    page = client_a.get(response["Location"])
    assert page.status_code == 200
    assert 'data-clear-device="1"' in page.content.decode()


def test_the_clearing_page_sends_someone_logged_in_home_with_her_outbox_intact(client_a):
    response = client_a.get(reverse("diary:logged_out"))
    assert response.status_code == 302
    assert response["Location"] == reverse("diary:home")
