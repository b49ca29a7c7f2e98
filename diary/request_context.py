"""The current request's id and user, set by RequestIdMiddleware and read by the audit service.

The id is always made by the server. An X-Request-ID the client sent is kept apart, as the
client's claim (current_client_request_id), never as the id that ties audit events together.

A leaf module (no project imports), so that the services read it without importing the
middleware above them.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
current_client_request_id: ContextVar[str] = ContextVar("current_client_request_id", default="")
# Who is acting in this request (request.user, evaluated only when read): the actor of events
# recorded where Django reports no request, such as a password change (diary.passwords).
current_user: ContextVar[Any] = ContextVar("current_user", default=None)
