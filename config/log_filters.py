"""Logging filters the settings' LOGGING names (start-up wiring; app code never imports this)."""

from __future__ import annotations

import logging


class RefusalWithoutTraceback(logging.Filter):
    """A refused request (status below 500: 403, 404, a 400 for a bad host) logs its one line
    without the exception. Django attaches the PermissionDenied or SuspiciousOperation it
    answered to the record, so every expected refusal printed a traceback that reads like a
    crash. Records without a status (anything not about a response) and 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
