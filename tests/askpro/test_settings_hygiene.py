"""Settings hygiene: README's configuration table is exactly what askpro/settings.py reads."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys

from tests.conftest import PROJECT_DIR

ENV_HELPERS = {"envstr", "envint", "envbool", "envlist", "_secret"}
# Processes that run before Django settings can be loaded (they create DATABASE_URL/REDIS_URL or
# start the web server) or are not the application (the Cal.com sandbox): they may read variables
# from the environment too. Every other module uses django.conf.settings.
BOOTSTRAP_MODULES = {
    "manage.py", "askpro/env.py", "askpro/embedded.py", "askpro/devsecrets.py", "askpro/dev.py", "askpro/webserver.py",
    "askpro/settings.py", "askpro/settings_test.py", "askpro/wsgi.py", "askpro/asgi.py", "askpro/celery.py",
    "integrations/calcom_sandbox/__main__.py",
}


def readme_variables() -> set[str]:
    text = (PROJECT_DIR / "README.md").read_text()
    section = text.split("| Variable | Default | Meaning |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        prefix = ""
        for token in re.findall(r"`([A-Z_]+)`", first_cell):
            if token.startswith("_"):
                names.add(prefix + token)
            else:
                names.add(token)
                prefix = token.rsplit("_", 1)[0]
    return names


def env_reads(path: str) -> set[str]:
    tree = ast.parse((PROJECT_DIR / path).read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        is_environ_get = (
            isinstance(func, ast.Attribute) and func.attr in {"get", "getenv"}
            and "environ" in ast.unparse(func.value) + ("os" if func.attr == "getenv" else "")
        )
        first = node.args[0]
        if (name in ENV_HELPERS or is_environ_get) and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def test_readme_documents_exactly_the_variables_settings_reads():
    documented = readme_variables()
    read = env_reads("askpro/settings.py")

    assert sorted(documented - read) == []  # documented but never read
    assert sorted(read - documented) == []  # read but undocumented
    assert {"ASKPRO_TENANT_CACHE_SECONDS", "ASKPRO_API_THROTTLE_RATES", "ASKPRO_SELLER_IBAN"} <= read


def test_no_application_module_reads_the_environment():
    offenders = {}
    for path in sorted(PROJECT_DIR.rglob("*.py")):
        relative = str(path.relative_to(PROJECT_DIR))
        if relative.split("/")[0] in {".venv", ".askpro", "tests", "benchmarks"} or relative in BOOTSTRAP_MODULES:
            continue
        source = path.read_text()
        if "os.environ" in source or "os.getenv" in source or re.search(r"\benv(str|int|bool|list)\(", source):
            offenders[relative] = sorted(env_reads(relative)) or ["os.environ"]
    assert offenders == {}


def test_no_getattr_defaults_for_our_settings():
    hits = []
    for path in sorted(PROJECT_DIR.rglob("*.py")):
        relative = str(path.relative_to(PROJECT_DIR))
        if relative.split("/")[0] in {".venv", ".askpro", "tests", "benchmarks"}:
            continue
        if re.search(r"getattr\(settings, \"(ASKPRO|BILLING|WEBHOOK|CALCOM|RETELL)", path.read_text()):
            hits.append(relative)
    assert hits == []


def _import_settings(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"], "ASKPRO_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://x@127.0.0.1/x",
    }
    return subprocess.run(
        [sys.executable, "-c", "import askpro.settings"], cwd=PROJECT_DIR, env={**base, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


PRODUCTION = {
    "ASKPRO_ENV": "production", "SECRET_KEY": "s" * 50, "ASKPRO_FERNET_KEYS": "k" * 44,
    "RETELL_API_KEY": "key_live", "STRIPE_WEBHOOK_SECRET": "whsec_live",
    "ASKPRO_SELLER_VAT_ID": "DE999999999", "ASKPRO_SELLER_TAX_NUMBER": "11/222/33333",
    "ASKPRO_SELLER_IBAN": "DE89370400440532013000",
}


def test_production_starts_with_real_values_and_writes_no_files(tmp_path):
    result = _import_settings(PRODUCTION, tmp_path)

    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_production_refuses_the_demo_seller_and_a_missing_webhook_secret(tmp_path):
    env = {key: value for key, value in PRODUCTION.items()
           if key not in {"ASKPRO_SELLER_IBAN", "ASKPRO_SELLER_VAT_ID", "STRIPE_WEBHOOK_SECRET"}}

    result = _import_settings(env, tmp_path)

    assert result.returncode == 1
    assert ("Refusing to start in production: ASKPRO_SELLER_VAT_ID is the demo value; "
            "ASKPRO_SELLER_IBAN is the demo value; STRIPE_WEBHOOK_SECRET is not set.") in result.stderr


def test_production_refuses_generated_secrets(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "secret_key").write_text("generated")
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}

    result = _import_settings(env, tmp_path)

    assert result.returncode == 1
    assert "SECRET_KEY must be set in production (generated secrets are refused)" in result.stderr


def test_development_settings_import_writes_nothing(tmp_path):
    result = _import_settings({}, tmp_path)

    assert result.returncode == 1
    assert "no development secret exists" in result.stderr
    assert list(tmp_path.iterdir()) == []
