"""Failed logins: a lockout per account, and a separate throttle per address (django-axes).

django-axes counts the failures against the account whichever identifier was typed
(AXES_LOCKOUT_PARAMETERS = ["username"], with diary.auth.axes_username naming the account), so
guesses spread over many addresses still lock it after AXES_FAILURE_LIMIT. Counting per
account *and* address, as before, let 12 guesses from 3 addresses through and the correct
password after them.

An address that fails LOGIN_ADDRESS_FAILURE_LIMIT times within the cool-off, over any accounts,
is refused too: one machine trying a common password on every study ID. Its own, higher limit,
because a clinic's network may put many participants behind one address. The address is the
peer's, or the client's as named by trusted proxies in X-Forwarded-For (TRUSTED_PROXY_COUNT):
a header the client writes itself must not choose whose counter a failure goes to.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def client_address(request: HttpRequest) -> str:
    """The client's address (AXES_CLIENT_IP_CALLABLE).

    With TRUSTED_PROXY_COUNT = n > 0, each of our n proxies appended the address it was
    connected from to X-Forwarded-For, so the client's is the n-th from the right; anything
    left of it was written by the client. Without proxies, or when the header is short or
    malformed, the peer address.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return peer
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(chain) < hops:
        return peer
    try:
        return str(ipaddress.ip_address(chain[-hops]))
    except ValueError:
        return peer


class AccountAndAddressHandler(AxesDatabaseHandler):
    """axes' database handler, plus the per-address throttle (AXES_HANDLER)."""

    def address_failures(self, request: HttpRequest) -> int:
        """Failures from the request's address within the cool-off, over every account."""
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def address_throttled(self, request: HttpRequest) -> bool:
        return self.address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or self.address_throttled(request)

    def user_login_failed(
        self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_locked_out or not self.address_throttled(request):
            return
        # The address reached its limit with this failure: refused from now on, as an account
        # is. No account is named: the lockout is the address's.
        request.axes_locked_out = True
        request.axes_credentials = credentials
        user_locked_out.send(
            "axes", request=request, username=None, ip_address=request.axes_ip_address
        )


def lockout_minutes_left(request: HttpRequest, credentials: dict | None, *, now: datetime) -> int:
    """Whole minutes, rounded up, until a login may be tried again: the cool-off counted from
    the latest failure that keeps the request locked (the account's, or the address's when it
    is throttled). A failure during the lockout starts the cool-off again
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so this is never shorter than the wait."""
    cool_off = settings.AXES_COOLOFF_TIME
    since = now - cool_off
    username = get_client_username(request, credentials)
    latest = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        .aggregate(latest=Max("attempt_time"))["latest"]
    )
    handler = AccountAndAddressHandler()
    if getattr(request, "axes_ip_address", None) and handler.address_throttled(request):
        by_address = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=since
        ).aggregate(latest=Max("attempt_time"))["latest"]
        latest = max(filter(None, (latest, by_address)), default=None)
    left = cool_off if latest is None else latest + cool_off - now
    return max(1, math.ceil(left / timedelta(minutes=1)))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The lock-out page, saying in her language how many minutes are left (AXES_LOCKOUT_CALLABLE).
    Same status as axes' own page (AXES_HTTP_RESPONSE_CODE)."""
    minutes = lockout_minutes_left(request, credentials, now=timezone.now())
    return render(
        request,
        "diary/lockout.html",
        {"minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
