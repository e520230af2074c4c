"""The schema version this code reads and writes, and the table that records a database's.

Apart from the migrations (store/migrations/, which need SQLAlchemy and Alembic), so a read
command can check a database is current without them (store/reading.py).
"""

HEAD = "0016"
VERSION_TABLE = "crewgate_alembic_version"
