"""Row-level history for clinical tables, written by PostgreSQL triggers (django-pghistory).

Triggers catch every write path, including QuerySet.update(), bulk writes and raw SQL. The
event tables are append-only (PGHISTORY_APPEND_ONLY): a trigger rejects UPDATE and DELETE.
"""

import pghistory


def tracked(*, unrecorded: tuple[str, ...] = (), untracked: tuple[str, ...] = ()):
    """Decorator: keep a snapshot of every insert, update and delete of the model.

    An update that changes only fields in `unrecorded` (a time stamp rewritten with the same
    values) writes no event; its next recorded event carries the new value.

    Fields in `untracked` are left out of the snapshots altogether: state whose history is
    kept elsewhere, added after the model's history began. Adding a column to a history table
    that already holds rows changes those rows' audit-chain digests, so a field added to a
    tracked model in a later release goes here unless its history is worth a re-anchored
    chain (tests/diary/migrations/test_upgrade_keeps_audit_chain.py).
    """
    update = (
        pghistory.UpdateEvent(condition=pghistory.AnyChange(exclude=list(unrecorded)))
        if unrecorded
        else pghistory.UpdateEvent()
    )
    return pghistory.track(
        pghistory.InsertEvent(),
        update,
        pghistory.DeleteEvent(),
        exclude=list(untracked) or None,
    )
