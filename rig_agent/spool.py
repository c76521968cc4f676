"""The store-and-forward spool: encoded records in SQLite (WAL) until the broker acknowledged them.

One row per record, keyed by its ``seq``; the stream id and the next ``seq`` live in a ``meta``
table and are updated in the same transaction as the rows they number, so a crash (SIGKILL
included) can neither reuse a ``seq`` nor lose a committed record. ``durability = "full"`` adds
``synchronous=FULL`` so a commit also survives power loss.

The spool holds at most ``max_bytes`` of encoded records (the file on disk is somewhat larger:
SQLite's pages and index, plus a write-ahead log capped at 64 MiB after each checkpoint; freed
pages are reused, not returned). It does not decide what to do when full; the writer refuses and
counts (see :mod:`rig_agent.spool_writer`).

Central's watermark (the highest ``seq`` below which it has committed everything, heard on the
retained acks topic) is kept in ``meta`` as ``acked_seq``, in the transaction that drops the
records it covers: once a rig has heard one it keeps broker-acknowledged records until central
confirms them (the broker's queue can be lost), and after a restart it still knows to.

One connection is shared by the writer and the publisher threads behind a lock: SQLite allows
one writer at a time anyway, and this avoids ``database is locked`` retries.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Literal

from rig_agent.errors import SpoolError

__all__ = ["Spool", "corrupt_spool_message", "integrity_problem", "is_damage"]

logger = logging.getLogger(__name__)

_WAL_LIMIT_BYTES = 64 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""


class Spool:
    """A durable FIFO of encoded records, numbered by ``seq``."""

    def __init__(
        self,
        path: Path | str,
        max_bytes: int,
        durability: Literal["normal", "full"] = "normal",
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            # After a checkpoint the WAL file shrinks back to this, so a burst does not keep it big.
            self._db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
            _check_intact(self._db, self.path)
            self._db.executescript(_SCHEMA)
            self.stream, self._next_seq, self._acked_seq = self._load_meta()
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0), MIN(seq) FROM records"
            ).fetchone()
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise SpoolError(corrupt_spool_message(self.path, str(exc))) from exc
            raise SpoolError(f"cannot open the spool {str(self.path)!r}: {exc}") from exc
        except OSError as exc:
            raise SpoolError(f"cannot open the spool {str(self.path)!r}: {exc}") from exc
        self._depth: int = row[0]
        self._bytes: int = row[1]
        self._first_seq: int = row[2] if row[2] is not None else self._next_seq
        self.evicted = 0
        """Records dropped oldest first to make room, before central confirmed them."""
        logger.info(
            "spool %s: stream %s, next seq %d, %d records waiting",
            self.path,
            self.stream,
            self._next_seq,
            self._depth,
        )

    def _load_meta(self) -> tuple[str, int, int | None]:
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        stream = meta.get("stream")
        if stream is None:
            stream = uuid.uuid4().hex
            with self._transaction():
                self._db.execute("INSERT INTO meta VALUES ('stream', ?)", (stream,))
                self._db.execute("INSERT INTO meta VALUES ('next_seq', '0')")
            logger.info("spool %s created with new stream %s", self.path, stream)
        stored_next = int(meta.get("next_seq", 0))
        (max_seq,) = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        # The meta row and the records are written together; max(seq)+1 is a belt to those braces.
        next_seq = max(stored_next, (max_seq + 1) if max_seq is not None else 0)
        acked = meta.get("acked_seq")
        return stream, next_seq, int(acked) if acked is not None else None

    def _transaction(self) -> _Commit:
        self._db.execute("BEGIN IMMEDIATE")
        return _Commit(self._db)

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next appended record gets."""
        return self._next_seq

    @property
    def first_seq(self) -> int:
        """The oldest ``seq`` still held (``next_seq`` when empty)."""
        return self._first_seq

    @property
    def acked_seq(self) -> int | None:
        """Central's watermark as last heard; None while none was ever heard."""
        return self._acked_seq

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def has_room(self, size: int = 0) -> bool:
        return self._bytes + size <= self.max_bytes

    def append(self, records: list[tuple[int, bytes]]) -> None:
        """Commit ``(seq, encoded)`` pairs; their ``seq`` must continue from :attr:`next_seq`.

        :raises SpoolError: when the commit fails; nothing of the batch is kept then.
        """
        if not records:
            return
        first, last = records[0][0], records[-1][0]
        if first != self._next_seq or last - first + 1 != len(records):
            raise SpoolError(f"records {first}..{last} do not continue from {self._next_seq}")
        size = sum(len(data) for _, data in records)
        with self._lock:
            try:
                with self._transaction():
                    self._db.executemany("INSERT INTO records VALUES (?, ?)", records)
                    self._db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'next_seq'", (str(last + 1),)
                    )
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot commit records: {exc}") from exc
            if self._depth == 0:
                self._first_seq = first
            self._next_seq = last + 1
            self._depth += len(records)
            self._bytes += size

    def read(self, from_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` records with ``seq >= from_seq``, in ``seq`` order."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT seq, data FROM records WHERE seq >= ? ORDER BY seq LIMIT ?",
                    (from_seq, limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot read the spool: {exc}") from exc
        return rows

    def remove(self, spans: list[tuple[int, int, int]]) -> None:
        """Delete acknowledged records: each span is ``(first_seq, last_seq, encoded bytes)``.

        The publisher read every record of a span and knows its size, which spares re-reading
        the blobs just to keep :attr:`bytes` right.
        """
        if not spans:
            return
        with self._lock:
            try:
                with self._transaction():
                    self._db.executemany(
                        "DELETE FROM records WHERE seq BETWEEN ? AND ?",
                        [(first, last) for first, last, _ in spans],
                    )
                    (oldest,) = self._db.execute("SELECT MIN(seq) FROM records").fetchone()
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot delete acknowledged records: {exc}") from exc
            self._depth -= sum(last - first + 1 for first, last, _ in spans)
            self._bytes -= sum(size for _, _, size in spans)
            self._first_seq = oldest if oldest is not None else self._next_seq

    def confirm(self, seq: int) -> None:
        """Central committed every record up to ``seq``: remember that and drop them.

        :raises SpoolError: when the transaction fails; nothing changes then.
        """
        if self._acked_seq is not None and seq <= self._acked_seq:
            return
        with self._lock:
            try:
                with self._transaction():
                    self._db.execute(
                        "INSERT INTO meta VALUES ('acked_seq', ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(seq),),
                    )
                    deleted = self._delete_through(seq)
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot drop records central confirmed: {exc}") from exc
            self._forget(*deleted)
            self._acked_seq = seq

    def evict(self, through_seq: int, needed_bytes: int) -> int:
        """Drop the oldest records up to ``through_seq`` until ``needed_bytes`` are freed.

        For a full spool holding records the broker acknowledged but central has not confirmed:
        the oldest of them make room for new captures. Returns how many were dropped.

        :raises SpoolError: when the transaction fails; nothing is dropped then.
        """
        if needed_bytes <= 0 or through_seq < self._first_seq:
            return 0
        with self._lock:
            try:
                sizes = self._db.execute(
                    "SELECT seq, LENGTH(data) FROM records WHERE seq <= ? ORDER BY seq",
                    (through_seq,),
                )
                freed, last = 0, None
                for seq, size in sizes:
                    freed += size
                    last = seq
                    if freed >= needed_bytes:
                        break
                sizes.close()
                if last is None:
                    return 0
                with self._transaction():
                    deleted = self._delete_through(last)
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot evict records to make room: {exc}") from exc
            dropped = self._forget(*deleted)
            self.evicted += dropped
            logger.warning(
                "spool full: evicted %d records through seq %d that central has not confirmed",
                dropped,
                last,
            )
            return dropped

    def _delete_through(self, seq: int) -> tuple[int, int, int | None]:
        """Delete every record up to ``seq`` in the caller's transaction; return the count, the
        bytes and the oldest seq left, for :meth:`_forget` once the transaction committed."""
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM records WHERE seq <= ?", (seq,)
        ).fetchone()
        self._db.execute("DELETE FROM records WHERE seq <= ?", (seq,))
        (oldest,) = self._db.execute("SELECT MIN(seq) FROM records").fetchone()
        return int(count), int(size), oldest

    def _forget(self, count: int, size: int, oldest: int | None) -> int:
        self._depth -= count
        self._bytes -= size
        self._first_seq = oldest if oldest is not None else self._next_seq
        return count

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error as exc:
                logger.warning("closing the spool: %s", exc)


def corrupt_spool_message(path: Path, detail: str) -> str:
    """What an operator reads when the spool file is damaged, with the way out."""
    detail = " ".join(detail.split())
    return (
        f"the spool {str(path)!r} is damaged ({detail}): the agent will not write to it. Move it"
        f" aside (mv {path} {path}.damaged) and start again with a new stream; the records it"
        f" still holds can be salvaged with: sqlite3 {path}.damaged .recover | sqlite3 salvaged.db"
    )


def is_damage(exc: sqlite3.Error) -> bool:
    """The file is not a database, or a damaged one (not: locked, unreadable, disk full)."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """The first problem SQLite's quick check finds in the file, or None when it is intact."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(1)")]
    return None if problems == ["ok"] else (problems[0] if problems else "quick check failed")


def _check_intact(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a truncated or overwritten file before trusting its seq numbering.

    :raises SpoolError: naming the first problem found and the way out.
    """
    problem = integrity_problem(db)
    if problem is not None:
        raise SpoolError(corrupt_spool_message(path, problem))


class _Commit:
    """Commit on success, roll back on error (sqlite3's own context manager needs legacy mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        return self._db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
