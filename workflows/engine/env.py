"""The process's handles on the database and the blob store."""

from dataclasses import dataclass
from functools import cache

from ..blobs import BlobStore
from ..records import Records
from ..store import Store, crewgate_home


@dataclass(frozen=True)
class Env:
    store: Store
    records: Records
    blobs: BlobStore


@cache
def env() -> Env:
    store = Store()
    return Env(store, Records(store.engine), BlobStore(crewgate_home() / "blobs"))
