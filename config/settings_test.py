"""Settings for the test suite: the production settings with test-only secrets filled in."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-checks-000")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc=")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("METRICS_TOKEN", "test-metrics-token-0123456789")
# The test client and live servers speak plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "False")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Queues of their own (…-interactive, …-sync, …-default), so a developer's running worker never
# takes the tests' tasks; the tests' worker consumes all three (tests/conftest.py).
TASK_QUEUE_PREFIX = f"stripe-sources-test-{os.getpid()}-"
CELERY_TASK_DEFAULT_QUEUE = TASK_QUEUE_PREFIX + DEFAULT  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A test database in a file, not in memory: tests that run a live server or a worker in a
    # thread then share it through SQLite's file locks, which wait (OPTIONS timeout), instead of
    # the in-memory shared cache's table locks, which fail at once.
    test_db = Path(tempfile.gettempdir()) / f"stripe-sources-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(test_db)}  # noqa: F405
