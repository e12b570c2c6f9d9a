"""Least privilege in PostgreSQL: the web and worker processes connect as an application role
that owns nothing; migrations and tenant creation run as the owner role.

The application role gets DML (SELECT/INSERT/UPDATE/DELETE, sequences) on every schema, no
TRUNCATE, no DDL, no superuser: it cannot ``SET session_replication_role`` (a superuser-only
parameter), so database triggers such as the append-only ledger guard always fire. Default
privileges make tables and schemas the owner creates later (new tenants) usable by it at once.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

DML = "SELECT, INSERT, UPDATE, DELETE"


def grant_statements(*, app_role: str, owner_role: str, database: str, schemas: list[str]) -> list[Any]:
    """SQL the owner (or a superuser) runs to give ``app_role`` exactly what the processes need."""
    app, owner = sql.Identifier(app_role), sql.Identifier(owner_role)
    statements: list[Any] = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), app),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(owner, app),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT " + DML + " ON TABLES TO {}").format(owner, app),
        sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {}").format(owner, app),
    ]
    for schema in schemas:
        name = sql.Identifier(schema)
        statements += [
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, app),
            sql.SQL("GRANT " + DML + " ON ALL TABLES IN SCHEMA {} TO {}").format(name, app),
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(name, app),
        ]
    return statements


def grant_app_role(cursor: Any, *, app_role: str, owner_role: str, database: str, schemas: list[str]) -> None:
    for statement in grant_statements(app_role=app_role, owner_role=owner_role, database=database, schemas=schemas):
        cursor.execute(statement)
