"""The Django admin for staff: scoped to the user's studies and sites, clinical rows read-only.

Access needs both a permission (from the role's group) and a StaffMembership covering the
study and site (diary.roles). Blinded staff never see allocation, sequences or treatments:
those admins answer as if the models did not exist for them.
"""

from django.contrib import admin

from diary.admin import clinical, participants, randomization, study  # noqa: F401 - registers

admin.site.site_header = "ePRO diary administration"
admin.site.site_title = "ePRO diary"
