"""Posting deliveries durably: one DBOS workflow per delivery, its POST a step with retries and backoff.

The workflow id is `webhook-<delivery id>`, and DBOS creates a workflow for an
id once: however many processes see a pending delivery (every worker pass, the
`crewgate run` that recorded it), one of them posts it. A process that dies
mid-retry leaves the workflow pending; a worker takes it over like a run
(hosting.take_over). When the attempts run out, the row is marked failed.

A receiver may get a delivery twice (the POST was answered, then the process
died before the row said so); both carry the same X-Crewgate-Delivery header.

DBOS takes a step's retry settings when the step is defined, so they are read
from the environment at import: CREWGATE_WEBHOOK_RETRY_S (2) seconds before
the second attempt, doubling after each, CREWGATE_WEBHOOK_ATTEMPTS (8) in all,
about four minutes. DBOS refuses configured-instance methods here, so the
workflow is a module function reaching this process's database through `bind`.

Import this module only where DBOS runs: `workflows.webhooks` itself does not.
"""

import logging
import os
import time

from dbos import DBOS, SetWorkflowID
from sqlalchemy.engine import Engine

from ..errors import BadInput
from .outbox import attempt, give_up, pending_ids
from .post import DeliveryFailed

WORKFLOW = "crewgate_webhook_delivery"
_SETTINGS = (("CREWGATE_WEBHOOK_RETRY_S", "2"), ("CREWGATE_WEBHOOK_ATTEMPTS", "8"))
BEFORE_EXIT_S = 5.0  # how long a `crewgate run` or `review approve` waits for the deliveries it started
_bound: dict[str, Engine] = {}


def retry_settings() -> tuple[float, int]:
    """Seconds before the second attempt (doubling after each) and attempts in all, from the environment."""
    interval, attempts = (os.environ.get(name, default) for name, default in _SETTINGS)
    try:
        seconds, count = float(interval), int(attempts)
    except ValueError:
        seconds, count = -1.0, 0
    if seconds < 0 or count < 1:
        raise BadInput(
            f"CREWGATE_WEBHOOK_RETRY_S must be seconds (0 or more) and CREWGATE_WEBHOOK_ATTEMPTS a whole number "
            f"1 or more (got {interval!r} and {attempts!r})"
        )
    return seconds, count


RETRY_S, ATTEMPTS = retry_settings()


def bind(engine: Engine) -> None:
    _bound["engine"] = engine
    dbos_log = logging.getLogger("dbos")
    if not any(isinstance(found, _RetryLine) for found in dbos_log.filters):
        dbos_log.addFilter(_RetryLine())


class _RetryLine(logging.Filter):
    """DBOS logs each retry with the exception's traceback; for a refused delivery, one line saying why is enough.

    Otherwise every 500 from a receiver would print two tracebacks under a `crewgate run`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, DeliveryFailed):
            record.msg, record.args = f"webhook delivery refused ({error}); {record.getMessage()}", None
            record.exc_info, record.exc_text = None, None
        return True


@DBOS.workflow(name=WORKFLOW)
def delivery_workflow(delivery_id: str) -> str:
    try:
        return post_step(delivery_id)
    except Exception:  # every attempt failed (DBOSMaxStepRetriesExceeded); the row holds the last error
        return give_up_step(delivery_id)


@DBOS.step(
    name="crewgate_webhook_post",
    retries_allowed=True,
    max_attempts=ATTEMPTS,
    interval_seconds=RETRY_S,
    backoff_rate=2.0,
)
def post_step(delivery_id: str) -> str:
    return attempt(_bound["engine"], delivery_id)


@DBOS.step(name="crewgate_webhook_give_up")
def give_up_step(delivery_id: str) -> str:
    return give_up(_bound["engine"], delivery_id)


def start(delivery_id: str) -> bool:
    """Start the delivery's workflow here, unless some process already has (its id is the workflow id); started?

    The look first only spares DBOS's warning about a workflow a worker took over
    onto the runs queue; two processes starting one id at once still start it once.
    """
    workflow_id = f"webhook-{delivery_id}"
    if DBOS.get_workflow_status(workflow_id) is not None:
        return False
    with SetWorkflowID(workflow_id):
        DBOS.start_workflow(delivery_workflow, delivery_id)
    return True


class Dispatcher:
    """Starts the workflow of every pending delivery, once per process; DBOS keeps it once across processes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: list[str] = []  # as of the last look
        self._looked_at: set[str] = set()
        self._started: set[str] = set()

    def __call__(self) -> list[str]:
        """Look at the pending deliveries and start those no process has started yet; their ids."""
        self.pending = pending_ids(self.engine)
        new = [delivery_id for delivery_id in self.pending if delivery_id not in self._looked_at]
        self._looked_at = set(self.pending)
        started = [delivery_id for delivery_id in new if start(delivery_id)]
        self._started.update(started)
        return started

    def settle(self, wait_s: float = BEFORE_EXIT_S) -> None:
        """Give the deliveries started here `wait_s` to be delivered or given up on, before the process exits.

        One still retrying after that stays pending in DBOS, and a worker takes it over.
        """
        mine = set(self._started)
        deadline = time.monotonic() + wait_s
        while mine and time.monotonic() < deadline:
            time.sleep(0.1)
            mine &= set(pending_ids(self.engine))


def deliver_before_exit(engine: Engine, wait_s: float = BEFORE_EXIT_S) -> None:
    """Start the pending deliveries (a command's run just recorded some) and let them settle, for `wait_s` at most."""
    dispatcher = Dispatcher(engine)
    dispatcher()
    dispatcher.settle(wait_s)
