"""crewgate's own tables. They live beside DBOS's tables in the same database."""

from sqlalchemy import Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

runbook_versions = Table(
    "crewgate_runbook_versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("source_file", Text, nullable=False),
    Column("base_dir", Text, nullable=True),
    Column("registered_at", String(40), nullable=False),
    Column("tool_modules", Text, nullable=True),  # JSON {path: base64 bytes}: its Python tool modules, kept with it
)

runs = Table(
    "crewgate_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("runbook", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("inputs", Text, nullable=False),  # JSON
    Column("models", Text, nullable=False),  # JSON: member -> model
    Column("image", Text, nullable=False),
    Column("image_id", Text, nullable=True),
    Column("requester", String(128), nullable=False),
    Column("status", String(24), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("base_commit", String(64), nullable=True),
    Column("base_snapshot", String(64), nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("batch_id", String(32), nullable=True, index=True),
    Column("schedule", String(64), nullable=True, index=True),
    Column("hosted_by", String(128), nullable=True),  # the executor id of the `crewgate run` that runs it, if any
    Column("model_override", Text, nullable=True),  # JSON {"model", "params"}: `crewgate run --model`, if given
    Column("runtime", String(16), nullable=False, server_default="runc"),  # the sandbox runtime it is pinned to
    Column("pruned", Text, nullable=True),  # JSON: when and what `runs prune` removed of it; NULL: nothing
    Index("ix_crewgate_runs_created", "created_at", "id"),  # the run list, a page at a time (store/cursors.py)
    Index("ix_crewgate_runs_batch_created", "batch_id", "created_at", "id"),  # a batch's runs, in order
)

steps = Table(
    "crewgate_steps",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("step_id", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("output", Text, nullable=False, default=""),
    Column("usage", Text, nullable=False, default="{}"),  # JSON
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40), nullable=True),
    Column("snapshot", String(64), nullable=True),  # the blob of the workspace the try left (work steps)
)

trace = Table(
    "crewgate_trace",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("step_id", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("member", String(64), nullable=False),
    Column("turn", Integer, nullable=False),
    Column("data", Text, nullable=False),  # JSON TraceEvent
    Column("created_at", String(40), nullable=False),
)

reviews = Table(
    "crewgate_reviews",
    metadata,
    Column("id", String(48), primary_key=True),
    Column("run_id", String(32), nullable=False, index=True),
    Column("step_id", String(64), nullable=False),
    Column("artifact_sha256", String(64), nullable=False),
    Column("status", String(24), nullable=False),  # pending, approved, rejected, changes_requested
    Column("policy", Text, nullable=False),  # JSON GatePolicy
    Column("evidence", Text, nullable=False),  # JSON
    Column("requester", String(128), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=True),
    Column("closed_at", String(40), nullable=True),
    Column("lines_added", Integer, nullable=True),  # the diff's size, kept at opening for the queue
    Column("lines_removed", Integer, nullable=True),
    Column("paths", Integer, nullable=True),
    Column("change_key", String(64), nullable=True),  # artifacts.change_key: equal keys form a batch's cluster
    Column("target", Text, nullable=True),  # targets.words: where approving writes; NULL before 0016
    Index("ix_crewgate_reviews_status_created", "status", "created_at", "id"),
    Index("ix_crewgate_reviews_created", "created_at", "id"),
)

decisions = Table(
    "crewgate_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("review_id", String(48), nullable=False),
    Column("reviewer", String(128), nullable=False),
    Column("decision", String(24), nullable=False),  # approve, reject, request_changes
    Column("message", Text, nullable=False, default=""),
    Column("target_step", String(64), nullable=True),
    Column("artifact_sha256", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("review_id", "reviewer", name="one_decision_per_reviewer"),
)

promotions = Table(
    "crewgate_promotions",
    metadata,
    Column("idempotency_key", String(128), primary_key=True),  # run id + artifact sha256
    Column("run_id", String(32), nullable=False),
    Column("artifact_sha256", String(64), nullable=False),
    Column("target", String(16), nullable=False),
    Column("ref", Text, nullable=True),
    Column("status", String(16), nullable=False),  # started, done
    Column("created_at", String(40), nullable=False),
    Index("ix_crewgate_promotions_run", "run_id"),
)

model_calls = Table(
    "crewgate_model_calls",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("scope", String(96), primary_key=True),  # step id and attempt: "<step>#<attempt>"
    Column("member", String(64), primary_key=True),
    Column("call_index", Integer, primary_key=True),
    Column("reply", Text, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("unpriced", Integer, nullable=False, server_default="0"),  # 1: litellm has no price for the model
    Column("finish_reason", String(32), nullable=True),  # why the model stopped ("stop", "length", ...)
    Column("reasoning", Text, nullable=True),  # the model's separate reasoning, for the trace only
)

tool_calls = Table(  # workflows/runs/tool_calls.py: started before the call, its outcome after
    "crewgate_tool_calls",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("scope", String(96), primary_key=True),
    Column("member", String(64), primary_key=True),
    Column("call_index", Integer, primary_key=True),
    Column("tool", String(300), nullable=False),
    Column("arguments", Text, nullable=False),  # canonical JSON
    Column("local", Integer, nullable=False),  # 1: a Python tool module's function (runs in the sandbox)
    Column("outcome", String(16), nullable=False),  # started, ok, error, refused
    Column("result", Text, nullable=True),  # JSON, for ok
    Column("error_type", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("created_at", String(40), nullable=False),
)

hosts = Table(  # liveness: a process hosting runs writes seen_at every few seconds (workflows/runs/liveness.py)
    "crewgate_hosts",
    metadata,
    Column("executor_id", String(128), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("seen_at", Float, nullable=False),  # seconds since the epoch
)

batches = Table(
    "crewgate_batches",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("runbook", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("source", Text, nullable=False),  # the inputs file, or the schedule that started it
    Column("requester", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # open, cancelled
    Column("created_at", String(40), nullable=False),
    Index("ix_crewgate_batches_created", "created_at", "id"),
)

schedules = Table(
    "crewgate_schedules",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("runbook", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("spec", Text, nullable=False),  # JSON ScheduleEntry
    Column("paused", Integer, nullable=False, default=0),
    Column("applied_at", String(40), nullable=False),
    Column("revision", Integer, nullable=False, server_default="1"),  # +1 whenever apply changes the entry
    Column("decided_until", Float, nullable=True),  # seconds since the epoch: every earlier tick is decided
    Column("broken", Text, nullable=True),  # why its next time cannot be computed; it fires nothing meanwhile
)

schedule_ticks = Table(
    "crewgate_schedule_ticks",
    metadata,
    Column("schedule", String(128), primary_key=True),
    Column("tick_at", String(40), primary_key=True),  # UTC ISO; cron ticks whole seconds, triggers microseconds
    Column("outcome", String(16), nullable=False, index=True),  # queued, started, skipped, failed (missed: gaps)
    Column("run_id", String(32), nullable=True),
    Column("batch_id", String(32), nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("recorded_at", String(40), nullable=False),
    Column("kind", String(16), nullable=False, server_default="cron"),  # cron, trigger, backfill
    Column("revision", Integer, nullable=True),  # the schedule's revision it was queued under
    Column("leased_by", String(128), nullable=True),  # the worker preparing its run (others wait while it lives)
)

schedule_gaps = Table(  # ticks nobody fired, one row per range with its count (ten years of seconds is one row)
    "crewgate_schedule_gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schedule", String(128), nullable=False, index=True),
    Column("first_at", String(40), nullable=False),
    Column("last_at", String(40), nullable=False),
    Column("count", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("revision", Integer, nullable=True),  # the schedule's revision (its cron) the ticks belong to
)

# Blobs in the database (PostgreSQL: every worker and reviewer sees every snapshot and artifact).
# A blob row is written after all its chunks, in one transaction: a row means a whole blob.
blobs = Table(
    "crewgate_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
)

blob_chunks = Table(
    "crewgate_blob_chunks",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Accounts for the web review queue and HTTP API (workflows/store/accounts.py): a decision's
# reviewer is the logged-in user or the token's user, never a name typed into a request.
users = Table(
    "crewgate_users",
    metadata,
    Column("name", String(128), primary_key=True),  # the person key (identity.py)
    Column("role", String(16), nullable=False),  # admin, reviewer, viewer
    Column("password_hash", Text, nullable=False),  # Argon2id, with its parameters and salt
    Column("disabled", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
)

tokens = Table(
    "crewgate_tokens",
    metadata,
    Column("id", String(16), primary_key=True),  # public part of the token, shown in `tokens list`
    Column("user", String(128), nullable=False),
    Column("secret_sha256", String(64), nullable=False),  # the secret is random: a hash suffices, never stored
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=True),
    Column("revoked_at", String(40), nullable=True),
    Column("last_used_at", String(40), nullable=True),
    Column("kind", String(16), nullable=False, server_default="api"),  # api (bearer) or session (web login cookie)
)

# Webhooks (workflows/webhooks.py): each event is recorded once per hook as a delivery row
# (event_key unique per hook, so a replayed step records nothing twice), then posted by a
# durable DBOS workflow with retries; failures stay visible in `webhooks list`.
webhooks = Table(
    "crewgate_webhooks",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event names
    Column("secret", Text, nullable=True),  # HMAC-SHA256 key; kept to sign, never shown
    Column("created_at", String(40), nullable=False),
    Column("disabled", Integer, nullable=False, server_default="0"),
)

webhook_deliveries = Table(
    "crewgate_webhook_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("webhook_id", String(16), nullable=False),
    Column("event", String(32), nullable=False),  # review.created, review.decided, run.finished
    Column("event_key", String(200), nullable=False),  # event + subject: one delivery per event per hook
    Column("body", Text, nullable=False),  # the exact JSON bytes posted and signed
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("delivered_at", String(40), nullable=True),
    UniqueConstraint("webhook_id", "event_key", name="uq_webhook_delivery_event"),
)

# Failed web logins (workflows/service/login_throttle.py), shared by every `crewgate serve` and kept across restarts:
# one row per failure and scope (the account key, the client address), pruned after the window.
login_failures = Table(
    "crewgate_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),  # name or address
    Column("subject", String(255), nullable=False, index=True),  # the account key (identity.fold), or the address
    Column("failed_at", Float, nullable=False),  # the database's clock, seconds since the epoch
)
