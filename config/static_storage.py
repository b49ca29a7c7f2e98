"""The storage of collected static files (STATIC_COLLECTED, config/settings.py)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed and gzip-compressed storage, whose URLs name the hashed files under
    DEBUG too. Django's manifest storage gives the plain names when DEBUG is on, which `make
    run` (DEBUG=1) would serve with a max-age of 0: a phone would ask for every style and
    script again on each page. With the hashed names WhiteNoise marks them immutable."""

    def url(self, name: str | None, force: bool = False) -> str:
        return super().url(name, force=True)
