#!/usr/bin/env python
"""Django's command-line utility. Without DATABASE_URL / REDIS_URL, embedded servers are used."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
    if os.environ["DJANGO_SETTINGS_MODULE"] == "askpro.settings":
        from askpro.devsecrets import ensure_dev_secrets
        from askpro.embedded import ensure_services

        ensure_dev_secrets()
        ensure_services()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
