"""The Django admin for staff: scoped to the user's studies and sites, clinical rows read-only.

Access needs both a permission (from the role's group) and a StaffMembership covering the
study and site (diary.access). Blinded staff never see allocation, sequences or treatments:
those admins answer as if the models did not exist for them.

Model admins live in this package; each custom page is one module of diary.admin.pages, with
the routes in diary.admin.pages.urls, registered with the site below.
"""

from django.contrib import admin

from diary.admin import (  # noqa: F401 - registers
    authenticators,
    clinical,
    grants,
    late_entries,
    participants,
    randomization,
    reminders,
    study,
    users,
)
from diary.admin.pages.urls import page_urls

# Site titles and the second factor live in config.admin_site.EproAdminSite.
admin.site.register_pages(page_urls)
