"""The Django admin for staff: scoped to the user's studies and sites, clinical rows read-only.

Access needs both a permission (from the role's group) and a StaffMembership covering the
study and site (diary.roles). Blinded staff never see allocation, sequences or treatments:
those admins answer as if the models did not exist for them.
"""

from diary.admin import (  # noqa: F401 - registers
    clinical,
    participants,
    randomization,
    reminders,
    study,
)

# Site titles and the second factor live in config.admin_site.EproAdminSite.
