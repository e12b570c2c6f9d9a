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


APP_PACKAGES = ("appointments", "askpro", "billing", "calls", "integrations", "notifications", "tenants")


def _app_sources():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in APP_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield root, path


def test_no_error_code_is_assigned_to_an_exception_at_runtime():
    import ast

    assigned = []
    for root, path in _app_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            assigned += [f"{path.relative_to(root)}:{node.lineno}" for target in targets
                         if isinstance(target, ast.Attribute) and target.attr == "code"]
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value == "code"):
                assigned.append(f"{path.relative_to(root)}:{node.lineno}")

    assert assigned == []


def test_no_module_imports_another_modules_ledger_internals():
    import ast

    private = []
    for root, path in _app_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("_lock", "_post") and isinstance(node.value, ast.Name)
                    and node.value.id not in ("self", "cls")):
                private.append(f"{path.relative_to(root)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("billing"):
                private += [f"{path.relative_to(root)}:{node.lineno}" for alias in node.names if alias.name in ("_lock", "_post")]

    assert private == []
