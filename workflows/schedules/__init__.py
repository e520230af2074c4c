"""When a schedule's ticks fall: cron expressions in a time zone (cron) and what one look at the clock
decides for a schedule (plan). Pure: no database, no runs; the scheduler (workflows/scheduler) acts on it."""
