from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from diary.views import offline

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="diary:home", permanent=False)),
    path("admin/", admin.site.urls),
    path("diary/", include("diary.urls")),
    # At the root: the service worker's scope is the folder it is served from.
    path("sw.js", offline.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline.manifest, name="manifest"),
]
