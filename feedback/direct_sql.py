"""Run a Core statement compiled once straight on the DBAPI cursor of a session's connection.

For the few statements every single-feedback POST runs, SQLAlchemy's per-execution machinery (cache-key lookup,
execution context, result metadata built from `cursor.description`, row objects) costs several times the
database's own work. A `DirectStatement` keeps SQLAlchemy as the source of the SQL and of the type handling
(the compiled string, each bind's and each result column's processor, all taken from the dialect in use) and
only skips that machinery: parameters are processed and passed in the compiled order, rows come back as
named tuples with the statement's column names. It runs inside the session's current transaction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

_COMPILED: dict[tuple[str, str, str], DirectStatement] = {}
_CONNECTION = "direct_sql.connection"  # session.info: (transaction, its DBAPI connection)


class DirectStatement:
    """One statement compiled for one dialect, with its bind and result processors."""

    def __init__(self, statement: Executable, dialect: Dialect, bind_names: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(bind_names) if bind_names else None)
        self.sql = compiled.string
        names = list(compiled.positiontup or ()) if dialect.paramstyle in ("qmark", "numeric") else None
        self._positional = names
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for name, bind in compiled.binds.items()}
        self._binds = [(name, processors.get(name)) for name in (names if names is not None else compiled.binds)]
        columns = list(getattr(statement, "exported_columns", ()))  # a SELECT's columns, or DML's RETURNING
        self.Row = namedtuple("Row", [column.key for column in columns]) if columns else None  # type: ignore[misc]
        self._dialect = dialect
        self._types = [column.type.dialect_impl(dialect) for column in columns]
        self._results: list[Callable[[Any], Any] | None] | None = None  # from the first cursor.description

    def _processors(self, description: Sequence[Any]) -> list[Callable[[Any], Any] | None]:
        # a result processor may depend on the DBAPI's type code (PostgreSQL numerics do), as in SQLAlchemy
        return [type_.result_processor(self._dialect, column[1]) for type_, column in zip(self._types, description,
                                                                                          strict=True)]

    def _params(self, values: dict[str, Any]) -> Any:
        if self._positional is not None:
            return tuple(process(values[name]) if process else values[name] for name, process in self._binds)
        return {name: process(values[name]) if process else values[name] for name, process in self._binds}

    def _row(self, raw: Sequence[Any]) -> Any:
        return self.Row(*[process(value) if process else value  # type: ignore[misc]
                          for process, value in zip(self._results or (), raw, strict=True)])

    def first(self, session: Session, values: dict[str, Any]) -> Any:
        """Execute with `values` (by bind name) in the session's transaction; the first row, or None."""
        cursor = _dbapi_connection(session).cursor()
        try:
            cursor.execute(self.sql, self._params(values))
            raw = cursor.fetchone() if self.Row is not None else None
            if raw is not None and self._results is None:
                self._results = self._processors(cursor.description)
        finally:
            cursor.close()
        return None if raw is None else self._row(raw)


def _dbapi_connection(session: Session) -> Any:
    """The DBAPI connection of the session's transaction (begun if need be), remembered per transaction:
    `Session.connection()` costs more than running a small statement."""
    transaction = session.get_transaction()
    cached = session.info.get(_CONNECTION)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    dbapi_connection = session.connection().connection.dbapi_connection
    session.info[_CONNECTION] = (session.get_transaction(), dbapi_connection)
    return dbapi_connection


def direct(session: Session, name: str, build: Callable[[], Executable],
           bind_names: Sequence[str] | None = None) -> DirectStatement:
    """The statement `name` compiled for the session's dialect (built by `build()` the first time)."""
    dialect = session.get_bind().dialect
    key = (dialect.name, dialect.driver, name)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = DirectStatement(build(), dialect, bind_names)
    return found
