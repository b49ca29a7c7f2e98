from django.contrib.admin.apps import AdminConfig


class EproAdminConfig(AdminConfig):
    default_site = "config.admin_site.EproAdminSite"
