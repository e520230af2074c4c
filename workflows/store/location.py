"""Where this crewgate home's database is: a URL, and for SQLite the file.

Kept apart from the database module (store/database.py) so a read command can find
the file without importing SQLAlchemy (store/reading.py).
"""

import os
from pathlib import Path


def crewgate_home() -> Path:
    return Path(os.environ.get("CREWGATE_HOME") or Path.home() / ".crewgate")


def database_url() -> str:
    """CREWGATE_DATABASE_URL, or a SQLite file under $CREWGATE_HOME."""
    url = os.environ.get("CREWGATE_DATABASE_URL")
    if url:
        return url
    home = crewgate_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'crewgate.db'}"


def is_postgres(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for any other database or spelling (a driver, options,
    a %-escape SQLAlchemy would decode)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or "%" in url or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix(prefix))
