"""The current request's id, set by RequestIdMiddleware and read by the audit service.

The id is always made by the server. An X-Request-ID the client sent is kept apart, as the
client's claim (current_client_request_id), never as the id that ties audit events together.

A leaf module (no project imports), so that the services read it without importing the
middleware above them.
"""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
current_client_request_id: ContextVar[str] = ContextVar("current_client_request_id", default="")
