"""What a backup's manifest says of the database, read in the dump's own snapshot.

`backup_facts` and `backup_chain_state` run inside the repeatable-read transaction whose
snapshot pg_dump is given (diary/services/backups.py), so the row counts, the latest audit
event and the chain's state describe exactly the rows in the dump, however many submissions
arrive meanwhile. Restore compares the restored database with them (diary/services/restore.py).
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Max

from diary.models import AuditChainCheck, AuditChainLink, AuditEvent


def backup_facts(*, using: str = "default") -> dict[str, Any]:
    """The server's version, the applied migrations' heads, the row count of every table of
    the database's search path, and the latest audit event (None when there is none)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int, version()")
        version_num, version = cursor.fetchone()
        tables = sorted(connection.introspection.table_names(cursor))
        counts: dict[str, int] = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
        heads: dict[str, str] = {}
        if "django_migrations" in counts:
            # Numbered names sort in the order they were written; a merge migration has the
            # highest number of its app, so the greatest name is the head.
            cursor.execute("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
            heads = dict(cursor.fetchall())
    latest_event = None
    latest = None
    if AuditEvent._meta.db_table in counts:  # not before the first migrate
        latest = AuditEvent.objects.using(using).aggregate(id=Max("id"))["id"]
    if latest is not None:
        occurred_at = (
            AuditEvent.objects.using(using).values_list("occurred_at", flat=True).get(pk=latest)
        )
        latest_event = {"id": latest, "occurred_at": occurred_at.isoformat()}
    return {
        "server_version_num": version_num,
        "server_version": version,
        "migration_heads": heads,
        "row_counts": counts,
        "latest_audit_event": latest_event,
    }


def backup_chain_state(*, using: str = "default") -> dict[str, Any]:
    """The audit chain's verification state as of the dump, for the manifest: how many links,
    the head's position and hash, and the last check that ran (when, passed). Kept outside
    the database, the head is the outside record that shows a restored (or later) chain still
    ends where the dumped one did: removing the newest events together with their links is
    caught only against it (README: Audit chain). Empty before the first migrate."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    if AuditChainLink._meta.db_table not in tables:
        return {}
    links = AuditChainLink.objects.using(using)
    head = links.order_by("-seq").values("seq", "hash").first()
    check = (
        AuditChainCheck.objects.using(using)
        .order_by("-checked_at")
        .values("checked_at", "passed")
        .first()
    )
    return {
        "links": links.count(),
        "head_seq": head["seq"] if head else None,
        "head_hash": head["hash"] if head else None,
        "last_check": None
        if check is None
        else {"checked_at": check["checked_at"].isoformat(), "passed": check["passed"]},
    }
