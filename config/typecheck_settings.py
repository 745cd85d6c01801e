"""The settings mypy's Django plugin imports: the real ones, with throwaway secrets.

With DEBUG off, config.settings refuses to load without SECRET_KEY and CREDENTIALS_KEYS, and
the plugin then crashes mypy. No process serves requests on these settings: only the type
checker reads them.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "type-checking-only")
os.environ.setdefault("CREDENTIALS_KEYS", Fernet.generate_key().decode())

from config.settings import *  # noqa: F403
