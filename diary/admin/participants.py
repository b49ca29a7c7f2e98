"""Participants in the admin: list, enrolment, invitation, withdrawal, randomization and the
read-only record (periods, assessments, submitted answers).

Every action checks the permission for each selected participant's site, not only the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from diary import access
from diary.admin.base import ScopedAdmin, admin_page
from diary.admin.forms import EnrolForm, ReasonForm
from diary.admin.reminders import ReminderLogInline
from diary.models import (
    Allocation,
    InvitationPurpose,
    Participant,
    ParticipantStatus,
    ReminderChannel,
    ReminderStatus,
    Response,
)
from diary.selectors.casebook import change_requests_of, signature_states
from diary.selectors.responses import response_read
from diary.services.invitations import invitation_send
from diary.services.participants import participant_enrol
from diary.services.randomization import participant_randomize
from diary.services.site_actions import participant_withdraw
from scoring.engine import ALGORITHM_VERSION, display_round
from scoring.models import Score


def reason_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    form: ReasonForm,
) -> HttpResponse:
    """The intermediate page of an action that needs a reason; posts back to the action."""
    return admin_page(
        request,
        model_admin.opts,
        "admin/diary/reason_form.html",
        title,
        {
            "form": form,
            "objects": list(queryset),
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


def confirmed_reason(request: HttpRequest) -> ReasonForm | None:
    """The bound reason form when the intermediate page was submitted, else None."""
    return ReasonForm(request.POST) if "confirm" in request.POST else None


def reasoned_action(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    objects: QuerySet,
    *,
    action: str,
    title: str,
    apply: Callable[[Any, str], object],
    done: str,
) -> HttpResponse | None:
    """An action that needs a reason: the reason page until a reason is confirmed, then
    `apply(object, reason)` for each object. A refusal of one object (ValidationError) is said
    with its message and the others go on; `done` is the message of the count applied
    (`"Excused: {} assessment(s)."`)."""
    form = confirmed_reason(request)
    if form is None or not form.is_valid():
        return reason_page(
            request, model_admin, objects, action=action, title=title, form=form or ReasonForm()
        )
    count = 0
    for obj in objects:
        try:
            apply(obj, form.cleaned_data["reason"])
        except ValidationError as exc:
            model_admin.message_user(request, f"{obj}: {exc.messages[0]}", messages.ERROR)
        else:
            count += 1
    model_admin.message_user(request, done.format(count), messages.SUCCESS)
    return None


@admin.register(Participant)
class ParticipantAdmin(ScopedAdmin):
    participant_path = ""
    list_display = ["subject_id", "site", "status", "enrolled_at", "activated_at", "randomized"]
    list_filter = [("site", admin.RelatedOnlyFieldListFilter), "status"]
    search_fields = ["subject_id"]
    actions = ["send_invitation", "withdraw", "randomize"]
    change_form_template = "admin/diary/participant/change_form.html"
    change_list_template = "admin/diary/participant/change_list.html"
    inlines = [ReminderLogInline]
    fields = [
        "study",
        "site",
        "subject_id",
        "status",
        "time_zone",
        "language",
        "enrolled_at",
        "activated_at",
        "withdrawn_at",
        "withdrawal_reason",
        "next_period_after_the_last",
        "reminder_channel",
        "reminder_problems",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Whether she is randomized, never to what: safe for blinded staff.
        return (
            super()
            .get_queryset(request)
            .select_related("site", "study", "closing_start")
            .annotate(is_randomized=Exists(Allocation.objects.filter(participant=OuterRef("pk"))))
        )

    @admin.display(boolean=True, description="Randomized", ordering="is_randomized")
    def randomized(self, obj: Participant) -> bool:
        return obj.is_randomized

    @admin.display(description="Next period after the last started on")
    def next_period_after_the_last(self, obj: Participant) -> str:
        """The closing start she reported (no questionnaire; it closes the last cycle)."""
        closing = getattr(obj, "closing_start", None)
        return closing.started_on.isoformat() if closing else "not reported"

    @admin.display(description="E-mail")
    def contact_email(self, obj: Participant) -> str:
        contact = getattr(obj, "contact", None)
        return contact.email if contact else ""

    @admin.display(description="Mobile number (SMS)")
    def contact_phone(self, obj: Participant) -> str:
        contact = getattr(obj, "contact", None)
        return contact.phone if contact and contact.phone else "none"

    @admin.display(description="Reminders by")
    def reminder_channel(self, obj: Participant) -> str:
        """Her chosen channel, and what stands behind it (never the number or the device)."""
        contact = getattr(obj, "contact", None)
        if contact is None:
            return "no contact on file"
        devices = obj.push_subscriptions.count()
        extra = {
            ReminderChannel.SMS: "number on file" if contact.phone else "no number: e-mail",
            ReminderChannel.PUSH: f"{devices} device(s)" if devices else "no device: e-mail",
        }.get(contact.reminder_channel)
        label = contact.get_reminder_channel_display()
        return f"{label} ({extra})" if extra else label

    @admin.display(description="Reminder delivery problems")
    def reminder_problems(self, obj: Participant) -> str:
        """Failed reminders and those e-mail had to stand in for, newest first."""
        problems = obj.reminders.filter(
            Q(status=ReminderStatus.FAILED) | ~Q(delivery_problem="")
        ).order_by("-due_at")[:5]
        lines = [
            f"{log.due_at:%Y-%m-%d %H:%M} UTC {log.get_kind_display()}: "
            f"{log.get_status_display().lower()}"
            f"{', ' + log.delivery_problem if log.delivery_problem else ''}"
            f"{', ' + log.last_error if log.status == ReminderStatus.FAILED else ''}"
            for log in problems
        ]
        return "\n".join(lines) or "none"

    def _can_see_email(self, request: HttpRequest, obj: Participant | None) -> bool:
        return obj is not None and access.staff_can(
            request.user,
            "diary.view_participantcontact",
            study_id=obj.study_id,
            site_id=obj.site_id,
        )

    def get_fields(self, request: HttpRequest, obj: Participant | None = None) -> list[str]:
        extra = ["contact_email", "contact_phone"] if self._can_see_email(request, obj) else []
        return [*self.fields, *extra]

    def get_readonly_fields(self, request: HttpRequest, obj: Participant | None = None):
        return self.get_fields(request, obj)

    # Permissions behind the actions (Django calls has_<name>_permission).
    def has_invite_permission(self, request: HttpRequest) -> bool:
        return access.staff_can(request.user, "diary.invite_participant")

    def has_withdraw_permission(self, request: HttpRequest) -> bool:
        return access.staff_can(request.user, "diary.withdraw_participant")

    def has_randomize_permission(self, request: HttpRequest) -> bool:
        return bool(access.unblinded_study_ids(request.user)) and access.staff_can(
            request.user, "diary.randomize_participant"
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return access.staff_can(request.user, "diary.enrol_participant")

    def _in_scope(self, request: HttpRequest, queryset: QuerySet, perm: str) -> QuerySet:
        allowed = self.scoped(request, queryset, perm)
        refused = queryset.exclude(pk__in=allowed.values("pk")).count()
        if refused:
            self.message_user(
                request,
                f"{refused} selected participant(s) are outside your sites for this action "
                "and were left unchanged.",
                messages.WARNING,
            )
        return allowed

    @admin.action(
        description="Send or resend the invitation (a password-reset link once active)",
        permissions=["invite"],
    )
    def send_invitation(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = []
        for participant in self._in_scope(request, queryset, "diary.invite_participant"):
            # Once she has set a password, a new link is a password reset (shorter-lived).
            purpose = (
                InvitationPurpose.INVITATION
                if participant.status == ParticipantStatus.INVITED
                else InvitationPurpose.PASSWORD_RESET
            )
            try:
                invitation_send(participant=participant, actor=request.user, purpose=purpose)
            except ValidationError as exc:
                self.message_user(request, f"{participant}: {exc.messages[0]}", messages.ERROR)
            else:
                sent.append(f"{participant.subject_id} ({purpose.label.lower()})")
        if sent:
            self.message_user(request, f"Link sent to {', '.join(sent)}.", messages.SUCCESS)

    @admin.action(
        description="Withdraw from the study (asks for a reason)", permissions=["withdraw"]
    )
    def withdraw(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        queryset = self._in_scope(request, queryset, "diary.withdraw_participant").exclude(
            status=ParticipantStatus.WITHDRAWN
        )
        if not queryset.exists():
            self.message_user(request, "No participant to withdraw.", messages.WARNING)
            return None
        form = confirmed_reason(request)
        if form is None or not form.is_valid():
            return reason_page(
                request,
                self,
                queryset,
                action="withdraw",
                title="Withdraw participants",
                form=form or ReasonForm(),
            )
        withdrawn = [
            participant_withdraw(
                participant=participant, reason=form.cleaned_data["reason"], actor=request.user
            ).subject_id
            for participant in queryset
        ]
        self.message_user(request, f"Withdrawn: {', '.join(withdrawn)}.", messages.SUCCESS)
        return None

    @admin.action(description="Randomize (next free slot of the list)", permissions=["randomize"])
    def randomize(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        unblinded = access.unblinded_study_ids(request.user)
        for participant in self._in_scope(request, queryset, "diary.randomize_participant"):
            if participant.study_id not in unblinded:
                continue
            try:
                participant_randomize(participant=participant, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{participant}: {exc.messages[0]}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"Randomized {done} participant(s).", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        """Enrolment through the service (participant, login, contact, schedule, audit)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = EnrolForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            site = data["site"]
            try:
                participant = participant_enrol(
                    study=site.study,
                    site=site,
                    subject_id=data["subject_id"],
                    email=data["email"],
                    actor=request.user,
                    time_zone=data["time_zone"] or None,
                    language=data["language"] or None,
                )
                if data["send_invitation"]:
                    invitation_send(participant=participant, actor=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                sent = " and invited" if data["send_invitation"] else ""
                self.message_user(request, f"{participant} enrolled{sent}.", messages.SUCCESS)
                return redirect("admin:diary_participant_change", participant.pk)
        return admin_page(
            request,
            self.opts,
            "admin/diary/participant/enrol.html",
            "Enrol a participant",
            {"form": form, "add": True},
        )

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None and self.has_view_permission(request, obj):
            extra_context.update(participant_record(obj))
            extra_context["can_correct"] = access.may_correct(request.user, obj)
            extra_context["can_sign"] = access.may_sign(request.user, obj)
            extra_context["states"] = signature_states(participant=obj)
            extra_context["change_requests"] = change_requests_of(participant=obj)
            extra_context["can_decide"] = access.may_decide_change(request.user, obj)
            if obj.study_id in access.unblinded_study_ids(request.user):
                extra_context["allocation"] = (
                    Allocation.objects.select_related("sequence").filter(participant=obj).first()
                )
        return super().change_view(request, object_id, form_url, extra_context)


def participant_record(participant: Participant) -> dict[str, Any]:
    """What her admin page lists below the fields: periods, assessments with their submitted
    responses and their scores (four queries). Never allocation or anything per arm."""
    scores = Score.objects.filter(algorithm_version=ALGORITHM_VERSION).order_by("pk")
    assessments = list(
        participant.assessments.order_by("period_number").prefetch_related(
            Prefetch(
                "responses",
                queryset=Response.objects.prefetch_related(Prefetch("scores", queryset=scores)),
            )
        )
    )
    responses = [r for a in assessments for r in a.responses.all()]
    superseded = {r.supersedes_id for r in responses if r.supersedes_id}
    for response in responses:
        response.is_superseded = response.pk in superseded
        response.read = response_read(response=response)
        # Exact values are stored; shown rounded half away from zero, as in exports' labels.
        response.score_rows = [
            (s.scale, display_round(s.value, 1), s.items_answered, s.items_in_scale, s.applicable)
            for s in response.scores.all()
        ]
    return {
        "periods": list(participant.periods.order_by("number")),
        "assessments": assessments,
        "responses": responses,
        "changelist_compliance": reverse("admin:diary_participant_compliance"),
    }
