"""PostgreSQL backend: django-tenants' schema switching, safe behind a transaction-mode pooler.

django-tenants sets ``search_path`` with a plain ``SET`` on the connection. Behind PgBouncer in
transaction pooling mode, the server connection changes between transactions, so that ``SET``
stays behind on a pooled server connection and the next client to get it reads another tenant's
tables. With ``DATABASE_POOL_MODE=transaction`` this backend instead sets the path with
``SET LOCAL`` as the first statement of every transaction (a statement outside ``atomic()`` is
wrapped in its own short transaction), and again when the schema changes inside a transaction.
Nothing is ever left on a server connection: ``SET LOCAL`` ends with its transaction.

Without a pooler (the default, ``DATABASE_POOL_MODE=session``) it is django-tenants' backend
unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from django_tenants.postgresql_backend import base as tenants_base
from django_tenants.utils import quote_schema_name
from psycopg import pq

IDLE = pq.TransactionStatus.IDLE
# Statements PostgreSQL refuses inside a transaction block; they name no tenant table anyway.
OUTSIDE_TRANSACTION = re.compile(
    r"^\s*(CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|VACUUM|"
    r"(CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY|REINDEX\b.*\bCONCURRENTLY)",
    re.IGNORECASE,
)


class DatabaseWrapper(tenants_base.DatabaseWrapper):
    def _pooled(self) -> bool:
        return self.settings_dict.get("POOL_MODE") == "transaction"

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if self._pooled():
            connection.cursor_factory = _per_transaction_cursor(connection.cursor_factory, self)
        return connection

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self._pooled():
            # Prepared statements live on a server connection; a pooler hands out another one.
            params["prepare_threshold"] = None
        return params

    def _handle_search_path(self, cursor: Any = None) -> None:
        if self._pooled():
            return  # set per transaction by the cursor (see _per_transaction_cursor)
        super()._handle_search_path(cursor)

    def search_path_statement(self) -> str:
        paths = self._get_cursor_search_paths()
        return "SET LOCAL search_path = " + ",".join(quote_schema_name(p) for p in paths)



def _per_transaction_cursor(base: Any, wrapper: DatabaseWrapper) -> type:
    """A subclass of psycopg's cursor class that puts ``SET LOCAL search_path`` in front of the
    first statement of every transaction (and after a schema switch inside one)."""
    import weakref

    owner = weakref.ref(wrapper)

    class PerTransactionSearchPath(base):  # type: ignore[misc, valid-type]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return self._in_transaction(super().execute, query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            return self._in_transaction(super().executemany, query, params_seq, **kwargs)

        def _in_transaction(self, run: Any, *args: Any, **kwargs: Any) -> Any:
            django_connection = owner()
            conn = self.connection
            if django_connection is None or (
                isinstance(args[0], str) and OUTSIDE_TRANSACTION.match(args[0])
            ):
                return run(*args, **kwargs)
            statement = django_connection.search_path_statement()
            state = conn.pgconn.transaction_status
            if state == IDLE and conn.autocommit:
                # One statement outside atomic(): its own transaction, so the path goes with it.
                with conn.transaction():
                    base.execute(self, statement)
                    conn._askpro_path = statement
                    result = run(*args, **kwargs)
                conn._askpro_path = None
                return result
            if state == IDLE or getattr(conn, "_askpro_path", None) != statement:
                # First statement of a transaction (psycopg sends BEGIN implicitly), or a
                # schema switch inside one.
                base.execute(self, statement)
                conn._askpro_path = statement
            return run(*args, **kwargs)

    return PerTransactionSearchPath
