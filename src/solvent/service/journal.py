"""The durable journal of commands and the snapshots of the venue: SQLite (default) or PostgreSQL.

Schema (both back ends):

- `solvent_journal(seq BIGINT PRIMARY KEY, command TEXT)`: every command the writer accepted, in
  order, as canonical JSON with its `time` already stamped, so a replay is deterministic. A batch
  is one transaction (group commit); a command is acknowledged only after its batch committed.
- `solvent_snapshot(seq BIGINT PRIMARY KEY, state_hash TEXT, venue BYTEA/BLOB)`: the pickled venue
  after command `seq`, with the engine's state hash to verify it on load. The last two are kept.

Durability: SQLite runs in WAL mode with `synchronous=FULL` (the WAL is fsync'd at every commit);
PostgreSQL commits with its default `synchronous_commit=on`.

All methods are blocking; the writer calls them from one dedicated thread.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger("solvent.service")
_LATEST_SNAPSHOT = "SELECT seq, state_hash, venue FROM solvent_snapshot ORDER BY seq DESC LIMIT 1"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Journal(Protocol):
    #: what `open_journal` opens this journal again with (a forked snapshot writer does)
    url: str

    def last_seq(self) -> int: ...

    def append(self, rows: Sequence[tuple[int, str]]) -> None: ...

    def read(self, after: int = 0) -> Iterator[tuple[int, str]]: ...

    def save_snapshot(self, seq: int, state_hash: str, blob: bytes) -> None: ...

    def latest_snapshot(self) -> tuple[int, str, bytes] | None: ...

    def close(self) -> None: ...


def open_journal(url: str) -> Journal:
    """`postgresql://…` (optionally `?schema=NAME`) or a SQLite file path (`sqlite:///path` also accepted)."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresJournal(url)
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SqliteJournal(path)


class SqliteJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = self.url = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS solvent_journal (seq INTEGER PRIMARY KEY, command TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS solvent_snapshot (seq INTEGER PRIMARY KEY, "
                        "state_hash TEXT NOT NULL, venue BLOB NOT NULL)")

    def last_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM solvent_journal").fetchone()
        return int(row[0] or 0)

    def append(self, rows: Sequence[tuple[int, str]]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO solvent_journal (seq, command) VALUES (?, ?)", rows)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def read(self, after: int = 0) -> Iterator[tuple[int, str]]:
        cursor = self.db.execute("SELECT seq, command FROM solvent_journal WHERE seq > ? ORDER BY seq", (after,))
        while rows := cursor.fetchmany(2000):
            for seq, command in rows:
                yield int(seq), str(command)

    def save_snapshot(self, seq: int, state_hash: str, blob: bytes) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT OR REPLACE INTO solvent_snapshot (seq, state_hash, venue) VALUES (?, ?, ?)",
                        (seq, state_hash, blob))
        self.db.execute("DELETE FROM solvent_snapshot WHERE seq NOT IN "
                        "(SELECT seq FROM solvent_snapshot ORDER BY seq DESC LIMIT 2)")
        self.db.execute("COMMIT")

    def latest_snapshot(self) -> tuple[int, str, bytes] | None:
        row = self.db.execute(_LATEST_SNAPSHOT).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def close(self) -> None:
        self.db.close()


def split_schema(url: str) -> tuple[str, str | None]:
    """The connection URL without a `schema=` query parameter, and that schema's name."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((value for key, value in query if key == "schema"), None)
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema {schema!r}: expected lower-case letters, digits and _")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresJournal:
    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        conninfo, schema = split_schema(url)
        self.db: Any = psycopg.connect(conninfo, autocommit=True)
        if schema is not None:
            self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self.db.execute(f"SET search_path TO {schema}")
        self.db.execute("SET synchronous_commit TO on")
        fsync = self.db.execute("SHOW fsync").fetchone()
        if fsync is not None and str(fsync[0]).lower() == "off":
            log.warning("PostgreSQL runs with fsync=off: a committed command can be lost in a power failure")
        self.db.execute("CREATE TABLE IF NOT EXISTS solvent_journal (seq BIGINT PRIMARY KEY, command TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS solvent_snapshot (seq BIGINT PRIMARY KEY, "
                        "state_hash TEXT NOT NULL, venue BYTEA NOT NULL)")

    def last_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM solvent_journal").fetchone()
        return int(row[0] or 0)

    def append(self, rows: Sequence[tuple[int, str]]) -> None:
        with self.db.transaction(), self.db.cursor() as cursor:
            cursor.executemany("INSERT INTO solvent_journal (seq, command) VALUES (%s, %s)", rows)

    def read(self, after: int = 0) -> Iterator[tuple[int, str]]:
        with self.db.transaction(), self.db.cursor(name="solvent_read") as cursor:
            cursor.execute("SELECT seq, command FROM solvent_journal WHERE seq > %s ORDER BY seq", (after,))
            while rows := cursor.fetchmany(2000):
                for seq, command in rows:
                    yield int(seq), str(command)

    def save_snapshot(self, seq: int, state_hash: str, blob: bytes) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO solvent_snapshot (seq, state_hash, venue) VALUES (%s, %s, %s) "
                            "ON CONFLICT (seq) DO UPDATE SET state_hash = EXCLUDED.state_hash, venue = EXCLUDED.venue",
                            (seq, state_hash, blob))
            self.db.execute("DELETE FROM solvent_snapshot WHERE seq NOT IN "
                            "(SELECT seq FROM solvent_snapshot ORDER BY seq DESC LIMIT 2)")

    def latest_snapshot(self) -> tuple[int, str, bytes] | None:
        row = self.db.execute(_LATEST_SNAPSHOT).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def close(self) -> None:
        self.db.close()


def drop_schema(url: str) -> None:
    """Drop the `schema=` of a PostgreSQL URL with everything in it (tests clean up with this)."""
    import psycopg

    conninfo, schema = split_schema(url)
    if schema is None:
        raise ValueError("no schema= in the URL")
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
