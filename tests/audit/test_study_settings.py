"""Changing a study's settings in the admin is audited with old and new values."""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from diary.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def form_data(study, **changes) -> dict:
    data = {k: v for k, v in model_to_dict(study).items() if v is not None and k != "id"}
    data["instruments"] = ",".join(study.instruments)
    data["ehp30_modules"] = ",".join(study.ehp30_modules)
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
