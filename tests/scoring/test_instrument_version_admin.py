"""Stored instrument versions in the admin: superusers read them, nobody edits them, other staff
do not see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.definitions import instrument_get
from scoring.models import InstrumentVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(world) -> InstrumentVersion:
    structure = instrument_get("vas_dysmenorrhea", "1.0")
    return InstrumentVersion.objects.create(
        key="vas_dysmenorrhea",
        version="1.0-site",
        language="en-GB",
        structure_version="1.0",
        structure_hash=structure.content_hash,
        wording={},
        content_hash="0" * 64,
        source_name="vas-en-GB.toml",
        loaded_by=world.admin,
    )


def test_superuser_reads_a_stored_version_but_cannot_change_it(client, world, stored):
    client.force_login(world.admin)
    listing = client.get(reverse("admin:scoring_instrumentversion_changelist"))
    assert listing.status_code == 200
    assert "1.0-site" in listing.content.decode()
    page = client.get(reverse("admin:scoring_instrumentversion_change", args=[stored.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:scoring_instrumentversion_add")).status_code == 404
    delete = reverse("admin:scoring_instrumentversion_delete", args=[stored.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 404
    assert InstrumentVersion.objects.filter(pk=stored.pk).exists()


@pytest.mark.parametrize("username", ["coordinator1", "monitor", "statistician"])
def test_study_staff_do_not_see_stored_versions(client, world, stored, username):
    client.force_login(getattr(world, username))
    assert client.get(reverse("admin:scoring_instrumentversion_changelist")).status_code == 404
    assert "Instrument versions" not in client.get(reverse("admin:index")).content.decode()
