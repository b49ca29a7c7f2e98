"""Changing a study's settings in the admin is audited with old and new values."""

import json

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from diary.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def form_data(study, **changes) -> dict:
    data = {k: v for k, v in model_to_dict(study).items() if v is not None and k != "id"}
    data["instruments"] = ",".join(study.instruments)
    data["instrument_modules"] = json.dumps(study.instrument_modules)
    data["window_close_time"] = (
        study.window_close_time.strftime("%H:%M")
        if hasattr(study.window_close_time, "strftime")
        else study.window_close_time
    )
    for key in ("quiet_hours_start", "quiet_hours_end"):
        if key in data and hasattr(data[key], "strftime"):
            data[key] = data[key].strftime("%H:%M")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data.update(changes)
    return data


def test_system_admin_change_of_the_window_length_is_audited(client, world):
    client.force_login(world.admin)
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    response = client.post(url, form_data(world.study, window_length_days=10))
    assert response.status_code == 302, response.content.decode()[:2000]
    world.study.refresh_from_db()
    assert world.study.window_length_days == 10
    event = AuditEvent.objects.get(action=AuditAction.STUDY_CHANGED)
    assert event.actor == world.admin
    assert event.details["changes"] == {"window_length_days": [7, 10]}


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "statistician"])
def test_study_staff_cannot_change_study_settings(client, world, who):
    client.force_login(getattr(world, who))
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    client.post(url, form_data(world.study, window_length_days=10))
    world.study.refresh_from_db()
    assert world.study.window_length_days == 7
    assert not AuditEvent.objects.filter(action=AuditAction.STUDY_CHANGED).exists()


def test_system_admin_chooses_the_optional_modules_of_an_instrument(client, world):
    client.force_login(world.admin)
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    page = client.get(url).content.decode()
    assert "Modules available: ehp30: ehp30_work, ehp30_children, ehp30_sex" in page
    modules = json.dumps({"ehp30": ["ehp30_work"]})
    response = client.post(url, form_data(world.study, instrument_modules=modules))
    assert response.status_code == 302, response.content.decode()[:2000]
    world.study.refresh_from_db()
    assert world.study.instrument_modules == {"ehp30": ["ehp30_work"]}
    event = AuditEvent.objects.get(action=AuditAction.STUDY_CHANGED)
    assert event.details["changes"] == {"instrument_modules": [{}, {"ehp30": ["ehp30_work"]}]}


def test_an_emptied_module_setting_means_no_optional_module(client, world):
    world.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    world.study.save(update_fields=["instrument_modules"])
    client.force_login(world.admin)
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    response = client.post(url, form_data(world.study, instrument_modules=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    world.study.refresh_from_db()
    assert world.study.instrument_modules == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"ehp30": ["ehp30_nope"]}', "ehp30 has no module ehp30_nope; its modules are: ehp30_"),
        ('{"vas_dysmenorrhea": ["ehp30_work"]}', "its modules are: none."),
        ('{"sf36": []}', "sf36 is not a known instrument."),
        ('{"ehp30": "ehp30_work"}', "ehp30: give a list of module keys."),
        ('{"ehp30": ["ehp30_work", "ehp30_work"]}', "ehp30: a module is listed twice."),
        ('["ehp30_work"]', "Give an object mapping an instrument key to a list of its module"),
        ("{not json", "Enter a valid JSON."),
    ],
)
def test_a_bad_module_setting_is_refused_with_its_reason(client, world, value, message):
    client.force_login(world.admin)
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    response = client.post(url, form_data(world.study, instrument_modules=value))
    assert response.status_code == 200
    assert message in response.content.decode()
    world.study.refresh_from_db()
    assert world.study.instrument_modules == {}
    assert not AuditEvent.objects.filter(action=AuditAction.STUDY_CHANGED).exists()


def test_modules_of_an_instrument_the_study_does_not_collect_are_refused(client, world):
    client.force_login(world.admin)
    url = reverse("admin:diary_study_change", args=[world.study.pk])
    data = form_data(
        world.study, instruments="vas_dysmenorrhea", instrument_modules='{"ehp30": ["ehp30_work"]}'
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Not collected by this study: ehp30." in response.content.decode()
    world.study.refresh_from_db()
    assert world.study.instruments == ["ehp30", "vas_dysmenorrhea"]
