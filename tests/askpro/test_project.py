from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


def test_every_model_change_has_a_migration(db):
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits non-zero when a migration is missing
        pytest.fail(f"missing migrations:\n{out.getvalue()}" if exc.code else "")


def test_the_django_system_checks_pass():
    call_command("check", "--fail-level", "WARNING")
