"""Sessions with an idle timeout that does not write on every request.

The session ends SESSION_COOKIE_AGE (SESSION_IDLE_SECONDS) after the last request. Django's way
to get that, SESSION_SAVE_EVERY_REQUEST, rewrites the session row on every request: a
transaction of three round trips to PostgreSQL, a tenth of a questionnaire submission's time
(bench/bench_submit.py). Here a request renews the session only when it was last renewed more
than SESSION_RENEW_SECONDS ago, so an idle session ends between SESSION_COOKIE_AGE minus
SESSION_RENEW_SECONDS and SESSION_COOKIE_AGE after the last request: never later.

    SESSION_ENGINE = "diary.sessions"
    MIDDLEWARE: "diary.sessions.IdleSessionMiddleware" in place of Django's SessionMiddleware
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class SessionStore(DatabaseSessionStore):
    """Database sessions that remember when the stored row expires."""

    stored_expiry: datetime | None = None

    def _get_session_from_db(self):
        session = super()._get_session_from_db()
        self.stored_expiry = session.expire_date if session is not None else None
        return session

    def renewal_due(self, now: datetime) -> bool:
        """True when the stored expiry was set more than SESSION_RENEW_SECONDS ago."""
        if self.stored_expiry is None:
            return False
        renewed_at = self.stored_expiry - timedelta(seconds=self.get_expiry_age(modification=now))
        return now - renewed_at >= timedelta(seconds=settings.SESSION_RENEW_SECONDS)


class IdleSessionMiddleware(SessionMiddleware):
    """SessionMiddleware that also saves a session whose renewal is due (SessionStore above)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            isinstance(session, SessionStore)
            and session.accessed
            and not session.modified
            and session.renewal_due(timezone.now())
        ):
            session.modified = True
        return super().process_response(request, response)
