"""One transaction on one pooled connection, with SQLAlchemy's layers added only when someone asks for them.

Most messages (帮助, 签到 …) need one or two driver statements and a commit (storage.message_gate). A SQLAlchemy
Connection, its transaction object and an ORM session would cost more than that database work, so they are built on
demand: `connection` wraps the same pooled connection for Core statements, `session` opens the ORM on that. Both join
the transaction already begun; `commit` and `rollback` end it through the outermost layer in use.

On PostgreSQL the driver statements, the BEGIN and the end go through libpq (storage.libpq): one release of the
GIL per round trip. The BEGIN waits for the transaction's first driver statement and goes out with it.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.driver_sql import DriverStatement, begin_on_driver, driver_error, end_on_driver, run_on_driver


class LazyTransaction:
    def __init__(self, engine: Engine, sessions: sessionmaker[Session]) -> None:
        self._engine = engine
        self._sessions = sessions
        self.dialect = engine.dialect
        # the pool's proxy of the driver's connection (storage.driver_sql runs statements on it)
        self.driver = self._on_driver("connect", engine.raw_connection)
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._begin_pending = False

    def begin(self) -> None:
        """Begin the transaction (statements before it run on their own, as reads in autocommit)."""
        if self.dialect.name == "postgresql":
            self._begin_pending = True  # sent with the first statement
        else:
            begin_on_driver(self.driver, self.dialect)

    def rows(self, statement: DriverStatement, values: dict) -> list[tuple]:
        """The rows a driver statement returns (none for one without RETURNING)."""
        return self.together([(statement, values)])[0]

    def together(self, work: list[tuple[DriverStatement, dict]]) -> list[list[tuple]]:
        """Each statement's rows, run one after the other; a driver error is raised as SQLAlchemy's class for it,
        naming the first statement."""
        begin, self._begin_pending = self._begin_pending, False
        return self._on_driver(work[0][0].sql, lambda: run_on_driver(self.driver, self.dialect, work, begin))

    @property
    def connection(self) -> Connection:
        if self._begin_pending:  # SQLAlchemy's statements go out on their own: the BEGIN goes first
            self._begin_pending = False
            begin_on_driver(self.driver, self.dialect)
        if self._connection is None:
            self._connection = Connection(self._engine, connection=self.driver)
        return self._connection

    @property
    def session(self) -> Session:
        if self._session is None:
            # control_fully: the session's commit and rollback end the connection's transaction
            self._session = self._sessions(bind=self.connection, join_transaction_mode="control_fully")
        return self._session

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def _end(self, how: str) -> None:
        """Through the outermost layer in use, then on the driver for what no layer ended (a no-op otherwise)."""
        self._begin_pending = False  # nothing was sent: nothing to end
        layer = self._session if self._session is not None else self._connection
        if layer is not None:
            getattr(layer, how)()
        if self._session is not None:
            self._drop_session()
        end_on_driver(self.driver, self.dialect, how.upper())

    def close(self) -> None:
        """Give the connection back to the pool (its reset rolls back anything left open)."""
        if self._session is not None:
            self._drop_session()
        if self._connection is not None:
            self._connection.close()
        else:
            self.driver.close()

    def _drop_session(self) -> None:
        self._session.close()
        self._session = None

    def _on_driver(self, statement: str, call):
        """`call()`, its driver errors raised as SQLAlchemy's classes, so callers (the router's "busy") catch one kind."""
        try:
            return call()
        except self.dialect.loaded_dbapi.Error as err:
            raise driver_error(err, statement, self.dialect) from err
