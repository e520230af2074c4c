"""Everything crewgate keeps: the database (SQLite or PostgreSQL), its tables and migrations, one module per
kind of record (runs and reviews, batches, schedules, accounts, costs), and the content-addressed blobs."""
