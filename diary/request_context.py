"""The current request's id, set by RequestIdMiddleware and read by the audit service.

A leaf module (no project imports), so that the services read it without importing the
middleware above them.
"""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
