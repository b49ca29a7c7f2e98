"""Reads for the site copy page: the sites' recent copies with their progress."""

from __future__ import annotations

from django.db.models import QuerySet

from diary.models import Site, SiteCopy

RECENT = 50


def site_copies_recent(*, sites: QuerySet[Site]) -> list[SiteCopy]:
    """The latest copies of these sites, newest first (one query)."""
    return list(
        SiteCopy.objects.filter(site__in=sites).select_related("study", "site", "requested_by")[
            :RECENT
        ]
    )
