"""The worker's scheduler: looking at the clock for every schedule (timer), firing a due tick into a run
or a batch (fire), the thread that does both (scheduler), and `schedule backfill`."""
