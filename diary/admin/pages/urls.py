"""Routes of the custom admin pages, each wrapped in the site's admin_view (login, staff,
second factor). The site (config.admin_site) adds them before the model admins' own URLs."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import URLPattern, path

from diary.admin.pages.arm_summary import arm_summary_view
from diary.admin.pages.audit import audit_export_view, participant_timeline_view
from diary.admin.pages.change_requests import change_request_decide_view, change_requests_view
from diary.admin.pages.compliance import compliance_view
from diary.admin.pages.corrections import assessment_transcribe_view, response_correct_view
from diary.admin.pages.exports import export_view
from diary.admin.pages.imports import import_view
from diary.admin.pages.queries import queries_export_view, queries_view
from diary.admin.pages.signal_participant import participant_signals_view
from diary.admin.pages.signal_settings import signal_settings_view
from diary.admin.pages.signals import signals_view
from diary.admin.pages.signatures import casebook_sign_view
from diary.admin.pages.site_copy import site_copy_download_view, site_copy_view
from diary.admin.pages.study_lock import study_lock_view
from diary.admin.pages.system_audit import system_audit_view
from diary.admin.pages.unblinding import unblinding_view


def page_urls(site: AdminSite) -> list[URLPattern]:
    view = site.admin_view
    return [
        path(
            "diary/participant/compliance/",
            view(compliance_view),
            name="diary_participant_compliance",
        ),
        path("summary/", view(arm_summary_view), name="arm_summary"),
        path("summary/<slug:study_code>/", view(arm_summary_view), name="arm_summary_study"),
        path(
            "corrections/response/<int:response_id>/",
            view(response_correct_view),
            name="response_correct",
        ),
        path(
            "corrections/assessment/<int:assessment_id>/paper/",
            view(assessment_transcribe_view),
            name="assessment_transcribe",
        ),
        path("unblinding/", view(unblinding_view), name="unblinding"),
        path("lock/", view(study_lock_view), name="study_lock"),
        path("site-copy/", view(site_copy_view), name="site_copy"),
        path(
            "site-copy/<int:copy_id>/download/",
            view(site_copy_download_view),
            name="site_copy_download",
        ),
        path("audit/export/", view(audit_export_view), name="audit_export"),
        path("audit/system/", view(system_audit_view), name="system_audit"),
        path(
            "audit/participant/<int:participant_id>/",
            view(participant_timeline_view),
            name="audit_timeline",
        ),
        path("change-requests/", view(change_requests_view), name="change_requests"),
        path(
            "change-requests/<int:request_id>/",
            view(change_request_decide_view),
            name="change_request_decide",
        ),
        path(
            "casebook/<int:participant_id>/sign/",
            view(casebook_sign_view),
            name="casebook_sign",
        ),
        path("exports/", view(export_view), name="exports"),
        path("imports/", view(import_view), name="study_import"),
        path("signals/", view(signals_view), name="signals"),
        path(
            "signals/participant/<int:participant_id>/",
            view(participant_signals_view),
            name="signal_participant",
        ),
        path(
            "signals/settings/<slug:study_code>/",
            view(signal_settings_view),
            name="signal_settings",
        ),
        path("signals/queries/", view(queries_view), name="signal_queries"),
        path(
            "signals/queries/export/", view(queries_export_view), name="signal_queries_export"
        ),
    ]
