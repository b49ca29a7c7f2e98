"""Which tables the audit chain covers, read from the app registry (no model import, so that
diary/enforcement.py, loaded with the app, can use it)."""

from __future__ import annotations

from django.apps import apps as global_apps

from diary.rules.audit_chain import CONTENT_CHECKED


def chained_tables() -> dict[str, tuple[str, ...]]:
    """The tables whose every row is a link of the audit chain: the audit events and every
    row-history event table, each with its chain trigger's arguments (primary-key column; for
    a content-checked table's history, the tracked table and the columns its content digest
    leaves out). diary/enforcement.py installs the trigger on exactly these."""
    audit = global_apps.get_model("diary", "AuditEvent")
    chained = {audit._meta.db_table: (audit._meta.pk.column,)}
    for model in global_apps.get_models():
        tracked = getattr(model, "pgh_tracked_model", None)
        if tracked is None or not model._meta.managed or model._meta.proxy:
            continue
        arguments: tuple[str, ...] = (model._meta.pk.column,)
        if tracked._meta.label in CONTENT_CHECKED:
            arguments += (tracked._meta.db_table, *CONTENT_CHECKED[tracked._meta.label])
        chained[model._meta.db_table] = arguments
    return dict(sorted(chained.items()))
