"""Test settings: the real stack (PostgreSQL schemas, Redis), tuned for speed.

With DATABASE_URL / REDIS_URL unset, embedded servers are started under .askpro/test-*.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from askpro.embedded import ensure_services

ensure_services(pg_name="test-pg", redis_name="test-redis", database="askpro")
# Separate checkouts running tests at the same time must not share a test database or keys.
_checkout = hashlib.sha1(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
os.environ.setdefault("ASKPRO_CACHE_PREFIX", f"test-{_checkout}")

from askpro.settings import *  # noqa: E402,F403
from askpro.settings import DATABASES, LOGGING  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_askpro_{_checkout}"}
# Fresh connections by default; a test that checks connection reuse starts its worker with more.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("ASKPRO_TEST_CONN_MAX_AGE", "0"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TEST_CHECKOUT_ID = _checkout
# The product is German-first (settings.LANGUAGE_CODE = "de"), but tests assert English source
# messages: the English msgid is stable while German wording may be polished in the catalogue.
# Tests about German output ask for it explicitly (Accept-Language: de, translation.override("de")).
LANGUAGE_CODE = "en"

# Isolate the broker and cache from a running dev system and from other checkouts.
from askpro.settings import REDIS_URL, redis_db  # noqa: E402

CELERY_BROKER_URL = redis_db(REDIS_URL, 2)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "global_keyprefix": f"test-{_checkout}:"}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"test-{_checkout}:"}
CACHES["default"]["LOCATION"] = redis_db(REDIS_URL, 3)  # noqa: F405
ASKPRO_TENANT_CACHE_SECONDS = 0
ASKPRO_SCHEMA_POOL_SIZE = 0  # tests that use the pool fill and drain it themselves
# A live Celery worker started by a test must use the test database, not the dev one.
if os.environ.get("ASKPRO_USE_TEST_DATABASE") == "1":
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"]["NAME"]
