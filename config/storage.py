"""Static files as WhiteNoise serves them: hashed names and a gzip copy, also under DEBUG.

Django's manifest storage hands out the plain name when DEBUG is on; `make demo` runs with DEBUG
on (development secrets, cookies over plain HTTP), yet its pages should load as in production:
hashed names that WhiteNoise serves compressed and cached forever. So a name is hashed whenever
collectstatic has recorded it; under DEBUG only, a file not collected yet keeps its plain name
(WhiteNoise then serves it from the finders, uncompressed), so that development never breaks on
a new file. With DEBUG off, a file missing from the manifest is an error, as in Django.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from whitenoise.storage import CompressedManifestStaticFilesStorage

from config.apps import StaticFiles


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def url(self, name: str | None, force: bool = False) -> str:
        if not settings.DEBUG:
            return super().url(name, force)
        try:
            return super().url(name, force=True)
        except ValueError:  # not in the manifest: collectstatic has not run since it was added
            return super().url(name, force=False)


def collected_is_current() -> bool:
    """Whether STATIC_ROOT's manifest is newer than every static file the finders find: then
    collectstatic has nothing to do (the test session skips it, saving its seconds)."""
    manifest = Path(settings.STATIC_ROOT) / HashedStaticFilesStorage.manifest_name
    if not manifest.exists():
        return False
    ignore = StaticFiles.ignore_patterns
    found = (
        Path(storage.path(path)).stat().st_mtime
        for finder in finders.get_finders()
        for path, storage in finder.list(ignore)
    )
    return manifest.stat().st_mtime >= max(found, default=0.0)
