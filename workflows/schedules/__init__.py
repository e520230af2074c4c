"""Schedules: when a cron fires (cron), what a look at the clock decides (plan, timer), firing a tick (fire),
the worker's scheduler thread (scheduler), backfill, and their rows (records)."""
