"""Her reminder settings: the channel, her mobile number, and web push on this device.

The push endpoints take the JSON her browser's PushManager made (diary/static/diary/push.js)
and answer JSON. Only a participant's own account: staff and strangers get 404 (as every
diary page), another account's device 409, a malformed subscription 400; nothing is stored
on a refusal.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from diary.access import participant_required
from diary.forms import ReminderPreferencesForm
from diary.services.contacts import reminder_preferences_set
from diary.services.push import (
    PushSubscriptionForeign,
    PushSubscriptionInvalid,
    push_enabled,
    push_subscription_save,
    push_subscriptions_remove,
)
from diary.services.sms import sms_enabled

# The ids of the subscriptions made in this session: logging out removes them (diary.signals).
PUSH_SESSION_KEY = "push_subscriptions"
MAX_SUBSCRIPTION_BYTES = 4096


@login_required
@require_http_methods(["GET", "POST"])
def reminder_preferences(request: HttpRequest) -> HttpResponse:
    participant = participant_required(request)
    contact = participant.contact
    initial = {"channel": contact.reminder_channel, "phone": contact.phone}
    offered = {"email", *(["sms"] if sms_enabled() else []), *(["push"] if push_enabled() else [])}
    form = ReminderPreferencesForm(
        request.POST or None, initial=initial, offered=offered | {contact.reminder_channel}
    )
    if request.method == "POST" and form.is_valid():
        try:
            reminder_preferences_set(
                participant=participant,
                channel=form.cleaned_data["channel"],
                phone=form.cleaned_data["phone"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Your reminder settings are saved."))
            return redirect("diary:reminder_preferences")
    context = {
        "form": form,
        "participant": participant,
        "push_enabled": push_enabled(),
        "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        "devices": participant.push_subscriptions.count(),
    }
    return render(request, "diary/reminder_preferences.html", context)


def _json_body(request: HttpRequest) -> object:
    if len(request.body) > MAX_SUBSCRIPTION_BYTES:
        raise PushSubscriptionInvalid("The subscription is too large.")
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PushSubscriptionInvalid("The request is not JSON.") from exc


@login_required
@require_POST
def push_subscribe(request: HttpRequest) -> JsonResponse:
    participant = participant_required(request)
    if not push_enabled():
        return JsonResponse({"error": _("Notifications are not available.")}, status=404)
    try:
        subscription = push_subscription_save(
            participant=participant,
            data=_json_body(request),
            user_agent=request.headers.get("User-Agent", ""),
            now=timezone.now(),
        )
    except PushSubscriptionForeign as exc:
        return JsonResponse({"error": exc.message}, status=409)
    except PushSubscriptionInvalid as exc:
        return JsonResponse({"error": exc.message}, status=400)
    made_here = request.session.get(PUSH_SESSION_KEY, [])
    if subscription.pk not in made_here:
        request.session[PUSH_SESSION_KEY] = [*made_here, subscription.pk]
    return JsonResponse({"subscribed": True}, status=201)


@login_required
@require_POST
def push_unsubscribe(request: HttpRequest) -> JsonResponse:
    participant = participant_required(request)
    try:
        data = _json_body(request)
    except PushSubscriptionInvalid as exc:
        return JsonResponse({"error": exc.message}, status=400)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return JsonResponse({"error": _("The request names no subscription.")}, status=400)
    removed = push_subscriptions_remove(participant=participant, endpoint=endpoint, reason="off")
    return JsonResponse({"removed": removed})
