"""crewgate's store on PostgreSQL: tables created once by racing processes, and blobs in the database.

Blobs in the database keep the folder store's contract: named by sha256,
deduplicated, verified on every read (a modified chunk is BlobCorrupt, never
passed off as the reviewed bytes), mended by the next put of the same bytes.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tests.postgres import PostgresServer
from workflows.runs.services import open_blobs
from workflows.store.blobs import BlobCorrupt
from workflows.store.database import Store
from workflows.store.database_blobs import CHUNK, DatabaseBlobStore
from workflows.store.migrations import HEAD, current_revision

pytestmark = pytest.mark.postgres


def test_processes_opening_a_new_database_at_once_create_its_tables_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.new_database()
    at_once = threading.Barrier(8)

    def open_store(_: int) -> str:
        at_once.wait()
        store = Store(url)
        with store.engine.connect() as connection:
            revision = current_revision(connection)
        store.close()
        return str(revision)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(open_store, range(8))) == [HEAD] * 8


def test_blobs_in_the_database_are_chunked_deduplicated_verified_and_mended(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.new_database()
    store = Store(url)
    blobs = open_blobs(store.engine, tmp_path / "blobs")
    assert isinstance(blobs, DatabaseBlobStore)
    data = os.urandom(3 * CHUNK + 5)
    sha = blobs.put(data)
    assert blobs.put(data) == sha and blobs.get(sha) == data
    with psycopg.connect(url, autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM crewgate_blobs").fetchone() == (1,)  # stored once
        assert db.execute("SELECT count(*) FROM crewgate_blob_chunks").fetchone() == (4,)
        db.execute("UPDATE crewgate_blob_chunks SET data = %s WHERE sha256 = %s AND seq = 2", (b"tampered", sha))
    with pytest.raises(BlobCorrupt, match="no longer matches its sha256"):
        blobs.get(sha)
    assert blobs.put(data) == sha and blobs.get(sha) == data  # the next put of the same bytes mends it
    assert blobs.get(blobs.put(b"")) == b""
    with pytest.raises(Exception, match="is not a sha256"):
        blobs.get("../../etc/passwd")
    assert not (tmp_path / "blobs").exists()  # nothing on this machine's disk
    store.close()
