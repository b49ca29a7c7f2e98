"""Filling in the questionnaire in the browser without JavaScript: pages, drafts, review, submit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from diary.models import AssessmentStatus, AuditAction, AuditEvent, Response, ResponseDraft
from tests.diary.journey import ehp30_pages, open_assessment, window_close

pytestmark = pytest.mark.django_db

VAS_PAGE = 6  # five EHP-30 core pages, then the VAS


@pytest.fixture
def assessment(world):
    return open_assessment(world.participant_a)


@pytest.fixture
def client_a(client, world):
    client.force_login(world.participant_a.user)
    return client


def page_url(assessment, number: int) -> str:
    return reverse("diary:questionnaire_page", args=[assessment.pk, number])


def fill_ehp30(client, assessment, *, skip=("ehp30_q03", "ehp30_q20"), code=2) -> None:
    for number, page in enumerate(ehp30_pages(assessment.participant.study), start=1):
        data = {key: code for key in page.item_keys if key not in skip}
        response = client.post(page_url(assessment, number), {**data, "nav": "next"})
        assert response.status_code == 302, response.content[:500]


def test_home_says_the_questionnaire_is_open_until_its_local_closing_time(client_a, assessment):
    response = client_a.get(reverse("diary:home"))
    text = response.content.decode()
    closes = assessment.closes_at.astimezone(ZoneInfo("Europe/Copenhagen"))
    assert f"is open until {closes:%A} {closes.day} {closes:%B}, 21:00" in text
    assert "Fill in the questionnaire" in text


def test_a_page_shows_no_answer_preselected_and_the_progress(client_a, assessment):
    response = client_a.get(page_url(assessment, 1))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Page 1 of 6" in text
    assert " checked" not in text
    assert "Demo wording" in text


def test_each_page_is_saved_as_a_draft_and_back_keeps_the_answers(client_a, assessment):
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": "3", "nav": "next"})
    assert response.url == page_url(assessment, 2)
    response = client_a.post(page_url(assessment, 2), {"ehp30_q12": "1", "nav": "back"})
    assert response.url == page_url(assessment, 1)
    page = client_a.get(page_url(assessment, 1)).content.decode()
    assert 'id="ehp30_q01-3" value="3" autocomplete="off" checked' in page
    draft = ResponseDraft.objects.get(assessment=assessment)
    assert draft.answers["ehp30"]["ehp30_q01"] == 3
    assert draft.answers["ehp30"]["ehp30_q12"] == 1
    assert AuditEvent.objects.filter(action=AuditAction.DRAFT_SAVED).count() == 2


def test_a_reload_mid_questionnaire_keeps_the_answers(client_a, assessment):
    client_a.post(page_url(assessment, 1), {"ehp30_q02": "4", "nav": "next"})
    client_a.get(page_url(assessment, 2))  # the participant reloads, or comes back later
    page = client_a.get(page_url(assessment, 1)).content.decode()
    assert 'id="ehp30_q02-4" value="4" autocomplete="off" checked' in page


def test_autosave_answers_json_and_keeps_the_answer(client_a, assessment):
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q05": "1"}, headers={"X-Autosave": "1"}
    )
    assert response.json() == {"saved": True, "errors": []}
    assert ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]["ehp30_q05"] == 1


def test_a_bad_code_is_refused_with_a_message_and_the_rest_is_kept(client_a, assessment):
    response = client_a.post(
        page_url(assessment, 1), {"ehp30_q01": "7", "ehp30_q02": "2", "nav": "next"}
    )
    assert response.status_code == 400
    assert "ehp30_q01: 7 is not a valid answer; it was not saved" in response.content.decode()
    answers = ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]
    assert answers["ehp30_q02"] == 2
    assert answers.get("ehp30_q01") is None


def test_clearing_an_answer_leaves_it_unanswered(client_a, assessment):
    client_a.post(page_url(assessment, 1), {"ehp30_q01": "3", "nav": "next"})
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": "3", "clear": "ehp30_q01"})
    assert response.url.endswith("#item-ehp30_q01")
    assert ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]["ehp30_q01"] is None


def test_review_lists_unanswered_items_and_asks_for_confirmation(client_a, assessment):
    fill_ehp30(client_a, assessment)
    client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "37", "nav": "next"})
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    text = client_a.get(review).content.decode()
    assert "You left 2 questions unanswered" in text
    assert f"{page_url(assessment, 1)}?from=review#item-ehp30_q03" in text
    response = client_a.post(review, {})
    assert (response.status_code, response.url) == (302, review)  # Post/Redirect/Get
    assert "Please confirm" in client_a.get(review).content.decode()
    assert not Response.objects.exists()


def client_time(moment: datetime) -> str:
    """A time as vas.js sends it (Date.toISOString)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_submit_stores_every_answer_once_with_unanswered_as_null(client_a, assessment, world):
    fill_ehp30(client_a, assessment)
    answered_at = client_time(timezone.now() - timedelta(seconds=20))
    client_a.post(
        page_url(assessment, VAS_PAGE),
        {
            "vas_dysmenorrhea": "37",
            "meta_client_answered_at": answered_at,
            "meta_viewport_width": "360",
            "meta_device_pixel_ratio": "3",
            "meta_input": "pointer",
            "nav": "next",
        },
    )
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client_a.post(review, {"confirm_unanswered": "on"})
    done = reverse("diary:questionnaire_done", args=[assessment.pk])
    assert response.url == done
    assert "was submitted on" in client_a.get(done).content.decode()
    ehp = Response.objects.get(assessment=assessment, instrument_key="ehp30")
    assert ehp.answers["ehp30_q03"] is None and ehp.answers["ehp30_q20"] is None
    assert ehp.answers["ehp30_q01"] == 2
    vas = Response.objects.get(assessment=assessment, instrument_key="vas_dysmenorrhea")
    assert vas.answers == {"vas_dysmenorrhea": 37}
    assert vas.metadata["viewport_width"] == "360"
    assert vas.metadata["device_pixel_ratio"] == "3"
    assert vas.metadata["client_answered_at"] == answered_at
    assert "client_answered_at_rejected" not in vas.metadata
    assert "server_saved_at" in vas.metadata
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED


@pytest.mark.parametrize(
    "claimed",
    ["0001-01-01T00:00:00.000Z", "2999-01-01T00:00:00.000Z", "9999-12-31T23:59:59+14:00"],
)
def test_an_impossible_client_time_is_not_stored_as_when_she_answered(
    client_a, assessment, claimed
):
    """Attack: the browser's "answered at" was stored whatever it said (year 0001, 2999)."""
    fill_ehp30(client_a, assessment)
    client_a.post(
        page_url(assessment, VAS_PAGE),
        {"vas_dysmenorrhea": "37", "meta_client_answered_at": claimed, "nav": "next"},
    )
    client_a.post(
        reverse("diary:questionnaire_review", args=[assessment.pk]), {"confirm_unanswered": "on"}
    )
    vas = Response.objects.get(assessment=assessment, instrument_key="vas_dysmenorrhea")
    assert vas.answers == {"vas_dysmenorrhea": 37}  # her answer is kept
    assert "client_answered_at" not in vas.metadata
    assert vas.metadata["client_answered_at_rejected"] is True
    saved = datetime.fromisoformat(vas.metadata["server_saved_at"])
    assert abs(timezone.now() - saved) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("offset", "kept"),
    [
        (timedelta(hours=-23), True),
        (timedelta(minutes=5), True),
        (timedelta(hours=-25), False),
        (timedelta(minutes=15), False),
    ],
)
def test_a_client_time_is_kept_only_near_the_server_clock(client_a, assessment, offset, kept):
    claimed = client_time(timezone.now() + offset)
    client_a.post(
        page_url(assessment, VAS_PAGE),
        {"vas_dysmenorrhea": "37", "meta_client_answered_at": claimed},
    )
    metadata = ResponseDraft.objects.get(assessment=assessment).metadata["vas_dysmenorrhea"]
    assert (metadata.get("client_answered_at") == claimed) is kept
    assert metadata.get("client_answered_at_rejected", False) is not kept


def test_a_submission_is_in_the_row_history_and_the_audit_trail_with_her_request(
    client_a, assessment, world
):
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client_a.post(
        review, {"confirm_unanswered": "on"}, HTTP_X_REQUEST_ID="req-0123456789"
    )
    assert response.status_code == 302
    responses = list(Response.objects.filter(assessment=assessment).order_by("pk"))
    assert len(responses) == 2
    inserted = [response.events.get(pgh_label="insert") for response in responses]
    submitted = assessment.events.filter(pgh_label="update").latest("pgh_id")
    assert submitted.status == AssessmentStatus.SUBMITTED
    for event in [*inserted, submitted]:
        assert event.pgh_context.metadata["user"] == world.participant_a.user.pk
        assert event.pgh_context.metadata["url"] == review
    audit = AuditEvent.objects.get(action=AuditAction.SUBMITTED)
    assert audit.details == {
        "period": assessment.period_number,
        "responses": [r.pk for r in responses],
        "client_request_id": "req-0123456789",
    }
    # The id that ties the request's events together is the server's, echoed in the answer;
    # the client's is kept apart.
    assert audit.request_id == response["X-Request-ID"] != "req-0123456789"
    for event in [*inserted, submitted]:
        assert event.pgh_context.metadata["request_id"] == audit.request_id
        assert event.pgh_context.metadata["client_request_id"] == "req-0123456789"
    assert audit.actor == world.participant_a.user
    assert audit.object_id == str(assessment.pk)


def test_a_client_cannot_give_her_request_the_id_of_another_one(client_a, world):
    """Attack: X-Request-ID chosen by the client became the audit's request id, so two
    requests could share one and a forged event could hide among a real request's."""
    first = client_a.post(reverse("diary:logout"), HTTP_X_REQUEST_ID="shared-id-0001")
    client_a.force_login(world.participant_a.user)
    second = client_a.post(reverse("diary:logout"), HTTP_X_REQUEST_ID="shared-id-0001")
    logouts = list(AuditEvent.objects.filter(action=AuditAction.LOGOUT).order_by("pk"))
    assert len(logouts) == 2
    assert [e.request_id for e in logouts] == [first["X-Request-ID"], second["X-Request-ID"]]
    assert logouts[0].request_id != logouts[1].request_id
    assert "shared-id-0001" not in {e.request_id for e in logouts}
    assert {e.details["client_request_id"] for e in logouts} == {"shared-id-0001"}


def test_a_malformed_client_request_id_is_not_kept_at_all(client_a):
    response = client_a.post(reverse("diary:logout"), HTTP_X_REQUEST_ID="<script>x</script>")
    event = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert event.request_id == response["X-Request-ID"]
    assert "client_request_id" not in event.details


def test_an_untouched_vas_is_stored_as_not_answered(client_a, assessment):
    fill_ehp30(client_a, assessment, skip=())
    client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "", "nav": "next"})
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    assert "You left 1 question unanswered" in client_a.get(review).content.decode()
    client_a.post(review, {"confirm_unanswered": "on"})
    vas = Response.objects.get(assessment=assessment, instrument_key="vas_dysmenorrhea")
    assert vas.answers == {"vas_dysmenorrhea": None}
    # No capture details of an answer not given; only when the submission arrived.
    assert set(vas.metadata) == {"submission_time"}


def test_the_vas_page_has_no_marker_and_no_value_before_it_is_touched(client_a, assessment):
    text = client_a.get(page_url(assessment, VAS_PAGE)).content.decode()
    slider = text[text.index('role="slider"') : text.index("</div>", text.index('role="slider"'))]
    assert "aria-valuenow" not in slider
    assert 'data-value=""' in slider
    assert '<div class="vas-marker" hidden>' in slider
    assert 'name="vas_dysmenorrhea" min="0" max="100" step="1" inputmode="numeric" value=""' in text
    assert "No pain" in text and "Worst pain imaginable" in text


def test_a_replayed_or_double_submit_stores_one_response(client_a, assessment):
    fill_ehp30(client_a, assessment, skip=())
    client_a.post(page_url(assessment, VAS_PAGE), {"vas_dysmenorrhea": "60", "nav": "next"})
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    first = client_a.post(review, {})
    second = client_a.post(review, {}, follow=True)
    assert first.status_code == 302
    assert "already been submitted" in second.content.decode()
    assert Response.objects.filter(assessment=assessment).count() == 2  # one per instrument
    assert AuditEvent.objects.filter(action=AuditAction.SUBMITTED).count() == 1


def test_pages_of_a_submitted_questionnaire_cannot_change_it(client_a, assessment):
    fill_ehp30(client_a, assessment, skip=())
    client_a.post(
        reverse("diary:questionnaire_review", args=[assessment.pk]), {"confirm_unanswered": "on"}
    )
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": "0", "nav": "next"})
    assert response.url == reverse("diary:questionnaire_done", args=[assessment.pk])
    assert Response.objects.filter(assessment=assessment).count() == 2
    ehp = Response.objects.get(assessment=assessment, instrument_key="ehp30")
    assert ehp.answers["ehp30_q01"] == 2


def test_a_closed_window_stores_no_submission_and_keeps_the_draft(client_a, assessment):
    fill_ehp30(client_a, assessment, skip=())
    window_close(assessment)
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client_a.post(review, {"confirm_unanswered": "on"})
    # Kept as a late entry for the site to review (tests/diary/views/test_late_entry.py).
    assert response.status_code == 202
    assert "The window for this questionnaire has closed." in response.content.decode()
    assert not Response.objects.exists()
    draft = ResponseDraft.objects.get(assessment=assessment)
    assert draft.submitted_at is None
    assert draft.answers["ehp30"]["ehp30_q01"] == 2


def test_saving_a_page_after_the_window_closed_says_why(client_a, assessment):
    window_close(assessment)
    response = client_a.post(page_url(assessment, 1), {"ehp30_q01": "1", "nav": "next"})
    assert response.status_code == 409
    assert "The window for this questionnaire has closed." in response.content.decode()


def test_a_questionnaire_before_its_period_is_reported_does_not_exist(client_a, world):
    later = world.participant_a.assessments.get(period_number=2)
    assert client_a.get(reverse("diary:questionnaire", args=[later.pk])).status_code == 404


@pytest.mark.parametrize("name", ["questionnaire", "questionnaire_review", "questionnaire_done"])
def test_another_participants_questionnaire_is_404(client, world, assessment, name):
    client.force_login(world.participant_b.user)
    assert client.get(reverse(f"diary:{name}", args=[assessment.pk])).status_code == 404
    assert client.get(page_url(assessment, 1)).status_code == 404
    assert client.post(page_url(assessment, 1), {"ehp30_q01": "1"}).status_code == 404
    assert not ResponseDraft.objects.exists()


def test_staff_go_to_the_admin_and_anonymous_users_to_login(client, world, assessment):
    url = page_url(assessment, 1)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("diary:login"))
    client.force_login(world.coordinator1)
    assert client.get(url).url == reverse("admin:index")
    assert client.get(reverse("diary:questionnaire", args=[assessment.pk])).url == reverse(
        "admin:index"
    )


def test_every_form_needs_a_csrf_token(world, assessment):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.participant_a.user)
    assert strict.post(page_url(assessment, 1), {"ehp30_q01": "1"}).status_code == 403
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    assert strict.post(review, {}).status_code == 403
    assert strict.post(reverse("diary:period_start"), {}).status_code == 403


def test_a_chosen_module_gets_its_own_page_with_the_gate_question_first(client_a, world):
    world.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    world.study.save(update_fields=["instrument_modules"])
    assessment = open_assessment(world.participant_a)
    text = client_a.get(page_url(assessment, 6)).content.decode()
    assert "Page 6 of 7" in text
    assert text.index('name="ehp30_work_applies"') < text.index('name="ehp30_work_q1"')
    response = client_a.post(
        page_url(assessment, 6), {"ehp30_work_applies": "0", "ehp30_work_q1": "2", "nav": "next"}
    )
    assert response.status_code == 400
    assert "does not apply" in response.content.decode()
    answers = ResponseDraft.objects.get(assessment=assessment).answers["ehp30"]
    assert answers["ehp30_work_applies"] == 0
    assert answers["ehp30_work_q1"] is None


def test_before_the_window_opens_she_is_told_when_and_submission_is_refused(client_a, world):
    from datetime import timedelta

    from django.utils import timezone

    from diary.selectors.periods import local_today
    from diary.services.periods import period_start_report

    participant = world.participant_a
    today = local_today(participant, timezone.now())
    period_start_report(participant=participant, started_on=today, actor=None)
    assessment = participant.assessments.get(period_number=1)
    intro = client_a.get(reverse("diary:questionnaire", args=[assessment.pk])).content.decode()
    opens = assessment.opens_at.astimezone(ZoneInfo("Europe/Copenhagen"))
    assert "This questionnaire is not open yet." in intro
    assert f"It opens on {opens:%A} {opens.day} {opens:%B}, 00:00" in intro
    assert opens.date() == today + timedelta(days=world.study.window_fallback_open_days)
    review = reverse("diary:questionnaire_review", args=[assessment.pk])
    response = client_a.post(review, {"confirm_unanswered": "on"})
    assert response.status_code == 409
    assert "This questionnaire is not open yet." in response.content.decode()
    assert not Response.objects.exists()
