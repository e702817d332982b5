"""The SQLite file: opening it safely, numbered migrations, and the few helpers every query goes through.

Opening never harms a file it does not understand: the file is first probed read-only (header, application id,
schema version); only a gptbench database of a version this code knows is then opened read-write, migrated
(one transaction per migration) and cleaned of replies a crash left "streaming".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from ..errors import GptbenchError

#: PRAGMA application_id of a gptbench database ("gptb"): tells our file from any other SQLite file.
APPLICATION_ID = 0x67707462

#: The schema, one SQL script per version; version N is reached by applying MIGRATIONS[:N] in order.
#: To change the schema, append a script (never edit a released one) and test it on a database the previous
#: version made (tests/test_store.py): templates, template runs and fine-tune jobs/events will come as more.
MIGRATIONS: list[str] = [
    # 1: chat sessions and their message tree.
    f"""
    PRAGMA application_id = {APPLICATION_ID};
    CREATE TABLE sessions (
        id              INTEGER PRIMARY KEY,
        title           TEXT NOT NULL,
        system_prompt   TEXT NOT NULL DEFAULT '',
        backend         TEXT NOT NULL,
        model           TEXT,
        params          TEXT NOT NULL DEFAULT '{{}}',   -- GenerationParams.to_dict() as JSON
        mode            TEXT NOT NULL DEFAULT 'chat' CHECK (mode IN ('chat', 'completion')),
        current_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        created_at      REAL NOT NULL,
        updated_at      REAL NOT NULL
    );
    CREATE TABLE messages (
        id                  INTEGER PRIMARY KEY,
        session_id          INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        parent_id           INTEGER REFERENCES messages(id) ON DELETE CASCADE,
        role                TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content             TEXT NOT NULL DEFAULT '',
        status              TEXT NOT NULL DEFAULT 'complete'
                            CHECK (status IN ('complete', 'stopped', 'error', 'streaming')),
        choice_index        INTEGER NOT NULL DEFAULT 0,
        backend             TEXT,
        model               TEXT,
        params              TEXT,                          -- JSON, for replies: the knobs they were made with
        prompt_tokens       INTEGER,
        completion_tokens   INTEGER,
        finish_reason       TEXT,
        time_to_first_token REAL,
        elapsed             REAL,
        error               TEXT,
        -- Bumped each time the message joins the active branch: picks which child a branch switch follows.
        selected            INTEGER NOT NULL DEFAULT 0,
        created_at          REAL NOT NULL,
        updated_at          REAL NOT NULL
    );
    CREATE INDEX messages_parent ON messages(parent_id);
    CREATE INDEX messages_session ON messages(session_id);
    CREATE INDEX sessions_recent ON sessions(updated_at);
    """,
    # 2: each reply's token logprobs (models.encode_logprobs: compact JSON), NULL when none were asked for.
    # ADD COLUMN only changes the schema record: existing rows are not rewritten, so it is instant on any size.
    """
    ALTER TABLE messages ADD COLUMN logprobs TEXT;
    """,
]

_HEADER = b"SQLite format 3\x00"


class StoreError(GptbenchError):
    """The database cannot be used (unreadable, not ours, newer schema) or a record does not exist."""


def _untouched(path: Path, why: str, advice: str) -> StoreError:
    return StoreError(f"{path}: {why}; the file was left untouched — {advice}")


def probe(path: Path) -> None:
    """Check an existing file without writing a byte to it: StoreError unless it is a database we can use."""
    move_aside = f"move it aside (e.g. rename it to {path.name}.bak) and gptbench starts a fresh one"
    try:
        with path.open("rb") as f:
            header = f.read(len(_HEADER))
    except OSError as exc:
        raise _untouched(path, f"cannot read the database ({exc.strerror or exc})", move_aside) from None
    if not header:
        return  # an empty file is a new database (SQLite itself treats it so)
    if header != _HEADER:
        raise _untouched(path, "not an SQLite database (corrupt or another kind of file)", move_aside)
    side_files = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = [p.exists() for p in side_files]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise _untouched(path, f"unreadable database ({exc})", move_aside) from None
    finally:
        # Reading a WAL-mode file makes SQLite create an empty -wal and its index: take back what we made.
        if not any(existed) and side_files[0].exists() and side_files[0].stat().st_size == 0:
            for side in side_files:
                side.unlink(missing_ok=True)
    if app_id != APPLICATION_ID and (app_id != 0 or version != 0 or tables):
        raise _untouched(path, "an SQLite database that gptbench did not create", move_aside)
    if version > len(MIGRATIONS):
        raise _newer(path, version)


def _newer(path: Path, version: int) -> StoreError:
    return _untouched(
        path,
        f"written by a newer gptbench (schema version {version}; this version knows up to {len(MIGRATIONS)})",
        "upgrade gptbench, or set GPTBENCH_DATA_DIR to use another folder",
    )


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if missing) and migrate the database at `path`; StoreError if it is not usable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{path.parent}: cannot create the data folder ({exc.strerror or exc})") from None
    if path.exists():
        probe(path)
    try:
        # Autocommit mode: transactions are explicit (`transaction()`), so a migration is all-or-nothing.
        conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the database ({exc})") from None
    try:
        conn.row_factory = sqlite3.Row
        # Checked again before anything is written: this connection also sees a crashed run's WAL.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise _newer(path, version)
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable against a killed process in WAL mode (only a power cut can lose the last commits).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("casefold", 1, _casefold, deterministic=True)
        for number in range(version, len(MIGRATIONS)):
            _migrate(conn, number + 1)
        with transaction(conn):
            conn.execute(
                "UPDATE messages SET status = 'stopped', error = 'interrupted: gptbench stopped during the reply'"
                " WHERE status = 'streaming'"
            )
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"{path}: cannot use the database ({exc})") from None
    return conn


def _migrate(conn: sqlite3.Connection, number: int) -> None:
    """Apply migration `number` (1-based) and record it, in one transaction."""
    script = MIGRATIONS[number - 1]
    try:
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error: writes that belong together land together."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _casefold(value: Any) -> str | None:
    """SQL casefold(): Unicode-aware case-insensitive matching (SQLite's lower/LIKE fold only ASCII)."""
    return value.casefold() if isinstance(value, str) else None


class Database:
    """An open gptbench database: the connection and the helpers that turn SQLite errors into StoreError."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.db_path = path

    @classmethod
    def open(cls, path: Path | str | None = None) -> Self:
        """Open the database (default: data_dir()/gptbench.db), creating and migrating it as needed."""
        target = Path(path).expanduser() if path is not None else default_path()
        return cls(connect(target), target)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.db_path}: database error ({exc})") from None

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._guard():
            return self.conn.execute(sql, args).fetchall()

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._guard():
            return self.conn.execute(sql, args).fetchone()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; SQLite errors become StoreError naming the file."""
        with self._guard(), transaction(self.conn) as conn:
            yield conn


def default_path() -> Path:
    """Where sessions live unless told otherwise: gptbench.db in the platformdirs data folder."""
    from ..config import data_dir

    return data_dir() / "gptbench.db"
