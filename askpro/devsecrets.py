"""Development secrets, generated once per checkout under ``<ASKPRO_DATA_DIR>/secrets/``.

Called by the dev runner, ``manage.py`` and the test settings before Django settings are loaded;
``askpro/settings.py`` only reads the files (and production refuses them). ``python -m
askpro.devsecrets`` creates them explicitly (e.g. before ``make lint`` on a fresh checkout).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from askpro.embedded import DATA_DIR


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


GENERATORS: dict[str, Callable[[], str]] = {
    "secret_key": lambda: secrets.token_urlsafe(50),
    "fernet_key": _fernet_key,
    "retell_dev_key": lambda: "key_dev_" + secrets.token_hex(16),
}


def ensure_dev_secrets(data_dir: Path = DATA_DIR) -> None:
    """Create the missing development secret files (never in production)."""
    if os.environ.get("ASKPRO_ENV", "development") == "production":
        return
    directory = data_dir / "secrets"
    for name, generate in GENERATORS.items():
        path = directory / name
        if path.exists():
            continue
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(generate())
        path.chmod(0o600)


if __name__ == "__main__":
    ensure_dev_secrets()
