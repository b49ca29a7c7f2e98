"""Checking the audit chain and recording that it was checked."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from diary.models import AuditChainCheck, Study
from diary.selectors.audit_chain import ChainReport, audit_chain_verify

log = logging.getLogger(__name__)


class UnknownStudy(ValueError):
    """--study names no study."""


def audit_chain_check(*, study_code: str = "") -> ChainReport:
    """Verify the chain under this process's AUDIT_CHAIN_KEY (diary.selectors.audit_chain) and
    append the outcome to AuditChainCheck, which the admin's audit page reads. A failed check
    is also logged as an error, with its first problem. Raises UnknownStudy (nothing stored)
    when `study_code` names no study."""
    if study_code and not Study.objects.filter(code=study_code).exists():
        raise UnknownStudy(f"--study {study_code}: no study has this code")
    report = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY, study_code=study_code)
    with transaction.atomic():
        AuditChainCheck.objects.create(
            passed=report.passed,
            links=report.links,
            study_code=study_code,
            first_problem=report.problems[0] if report.problems else "",
            problems=report.problem_count,
            seconds=report.seconds,
        )
    if not report.passed:
        log.error(
            "audit chain check failed: %d problem(s); first: %s",
            report.problem_count,
            report.problems[0],
        )
    return report
