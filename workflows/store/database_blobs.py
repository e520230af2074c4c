"""Blobs in the database, for set-ups where several machines share runs (PostgreSQL).

The same contract as the folder store (blobs.py): content-addressed by sha256,
deduplicated, verified on every read, mended when a corrupt copy is stored
again. Bytes travel in 1 MiB chunks, each its own row, read through a
server-side cursor and hashed as they arrive, so a 64 MB workspace is never one
64 MB query parameter or result value, and never hex- or base64-encoded.
"""

import datetime
import hashlib
from collections.abc import Iterator

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, stamp, wall_clock
from ..errors import StoreCorrupt
from .blobs import BlobCorrupt, check_sha
from .tables import blob_chunks, blobs

CHUNK = 1 << 20


class DatabaseBlobStore:
    """Immutable blobs named by their sha256, in crewgate_blobs / crewgate_blob_chunks."""

    def __init__(self, engine: Engine, clock: Clock = wall_clock) -> None:
        self.engine = engine
        self.clock = clock

    def put(self, data: bytes) -> str:
        """Store `data` and return its sha256; a corrupt copy already there is replaced."""
        sha = hashlib.sha256(data).hexdigest()
        if self._intact(sha) and self._touch(sha):
            return sha
        view = memoryview(data)
        try:
            with self.engine.begin() as db:
                db.execute(delete(blob_chunks).where(blob_chunks.c.sha256 == sha))  # a corrupt or partial copy
                db.execute(delete(blobs).where(blobs.c.sha256 == sha))
                count = 0
                for count, start in enumerate(range(0, len(data), CHUNK), 1):
                    piece = bytes(view[start : start + CHUNK])
                    db.execute(insert(blob_chunks).values(sha256=sha, seq=count - 1, data=piece))
                db.execute(
                    insert(blobs).values(sha256=sha, size=len(data), chunks=count, created_at=stamp(self.clock()))
                )
        except IntegrityError:  # another process stored the same bytes at the same moment
            if not self._intact(sha):
                raise
        return sha

    def get(self, sha: str) -> bytes:
        """The blob's bytes, verified against `sha` (BlobCorrupt if they differ)."""
        check_sha(sha)
        digest = hashlib.sha256()
        pieces = []
        with self.engine.connect() as db:
            expected = self._row(db, sha)
            for piece in self._chunks(db, sha):
                digest.update(piece)
                pieces.append(piece)
        data = b"".join(pieces)
        del pieces
        _verify(sha, digest.hexdigest(), len(data), expected)
        return data

    def remove_unused(self, sha: str, stored_since: datetime.datetime) -> int:
        """Delete the blob in one transaction if its row says it was last stored before `stored_since`."""
        check_sha(sha)
        with self.engine.begin() as db:
            size = db.execute(
                delete(blobs)
                .where(blobs.c.sha256 == sha, blobs.c.created_at < stamp(stored_since))
                .returning(blobs.c.size)
            ).scalar()
            if size is None:
                return 0
            db.execute(delete(blob_chunks).where(blob_chunks.c.sha256 == sha))
        return int(size)

    def size(self, sha: str) -> int:
        check_sha(sha)
        with self.engine.connect() as db:
            return int(db.execute(select(blobs.c.size).where(blobs.c.sha256 == sha)).scalar() or 0)

    def _touch(self, sha: str) -> bool:
        """Mark an intact blob as stored again now (a prune running now keeps it); False if it just went."""
        with self.engine.begin() as db:
            touched = db.execute(update(blobs).where(blobs.c.sha256 == sha).values(created_at=stamp(self.clock())))
        return bool(touched.rowcount)

    def _intact(self, sha: str) -> bool:
        """Is a whole, uncorrupted copy stored? Hashed chunk by chunk, never assembled."""
        digest = hashlib.sha256()
        size = 0
        with self.engine.connect() as db:
            row = db.execute(select(blobs.c.size).where(blobs.c.sha256 == sha)).first()
            if row is None:
                return False
            for piece in self._chunks(db, sha):
                digest.update(piece)
                size += len(piece)
        return digest.hexdigest() == sha and size == row.size

    def _row(self, db: Connection, sha: str) -> int:
        size = db.execute(select(blobs.c.size).where(blobs.c.sha256 == sha)).scalar()
        if size is None:
            raise StoreCorrupt(f"blob {sha[:12]} is missing from the database")
        return int(size)

    def _chunks(self, db: Connection, sha: str) -> Iterator[bytes]:
        query = select(blob_chunks.c.data).where(blob_chunks.c.sha256 == sha).order_by(blob_chunks.c.seq)
        for row in db.execution_options(stream_results=True, yield_per=4).execute(query):
            yield bytes(row.data)


def _verify(sha: str, actual: str, size: int, expected_size: int) -> None:
    if actual != sha or size != expected_size:
        raise BlobCorrupt(
            f"blob {sha[:12]} no longer matches its sha256 (its stored bytes now hash to {actual[:12]}): "
            "it was modified in the database after it was stored"
        )
