"""Row-level history for clinical tables, written by PostgreSQL triggers (django-pghistory).

Triggers catch every write path, including QuerySet.update(), bulk writes and raw SQL. The
event tables are append-only (PGHISTORY_APPEND_ONLY): a trigger rejects UPDATE and DELETE.
"""

import pghistory


def tracked():
    """Decorator: keep a snapshot of every insert, update and delete of the model."""
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent()
    )
