"""Posting deliveries durably: one DBOS workflow per delivery, each POST a step, durable waits between.

The workflow id is `webhook-<delivery id>`, and DBOS creates a workflow for an
id once: however many processes see a pending delivery (every worker pass, the
`crewgate run` that recorded it), one of them posts it. A process that dies
mid-retry leaves the workflow pending; a worker takes it over like a run
(hosting.take_over). When the attempts run out, the row is marked failed.

A receiver may get a delivery twice (the POST was answered, then the process
died before the row said so); both carry the same X-Crewgate-Delivery header.

The retry policy (CREWGATE_WEBHOOK_RETRY_S, 2: seconds before the second
attempt, doubling after each; CREWGATE_WEBHOOK_ATTEMPTS, 8 in all, about four
minutes) is read when a process starts hosting and is passed to each workflow it
starts, so a delivery keeps its policy when another process takes it over. The
waits are `DBOS.sleep`s: a recovered delivery does not wait again what it waited.

Import this module only where DBOS runs: `workflows.webhooks` itself does not.
"""

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dbos import DBOS, DBOSConfiguredInstance, SetWorkflowID
from sqlalchemy.engine import Engine

from ..errors import BadInput
from .outbox import attempt, give_up, pending_ids
from .post import DeliveryFailed

WORKFLOW = "crewgate_webhook_delivery"
BEFORE_EXIT_S = 5.0  # how long a `crewgate run` or `review approve` waits for the deliveries it started
REFUSED = "refused: "  # an attempt step's answer when the receiver refused (or was unreachable)

log = logging.getLogger("crewgate.webhooks")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a refused delivery is tried again: `attempts` in all, `first_wait_s` before the second, doubling."""

    first_wait_s: float = 2.0
    attempts: int = 8

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "RetryPolicy":
        interval = environ.get("CREWGATE_WEBHOOK_RETRY_S", str(cls.first_wait_s))
        attempts = environ.get("CREWGATE_WEBHOOK_ATTEMPTS", str(cls.attempts))
        try:
            policy = cls(float(interval), int(attempts))
        except ValueError:
            policy = cls(-1.0, 0)
        if policy.first_wait_s < 0 or policy.attempts < 1:
            raise BadInput(
                f"CREWGATE_WEBHOOK_RETRY_S must be seconds (0 or more) and CREWGATE_WEBHOOK_ATTEMPTS a whole number "
                f"1 or more (got {interval!r} and {attempts!r})"
            )
        return policy


@DBOS.dbos_class("WebhookDelivery")
class WebhookDelivery(DBOSConfiguredInstance):
    """Posts deliveries from this process's database. One per hosting process, made before DBOS launches."""

    def __init__(self, engine: Engine, policy: RetryPolicy) -> None:
        self.engine = engine
        self.policy = policy
        super().__init__(config_name="webhooks")

    @DBOS.workflow(name=WORKFLOW)
    def deliver(self, delivery_id: str, first_wait_s: float, attempts: int) -> str:
        wait_s = first_wait_s
        for number in range(1, attempts + 1):
            outcome = self.post_step(delivery_id)
            if not outcome.startswith(REFUSED):
                return outcome  # delivered, or settled or removed meanwhile
            log.warning("webhook delivery %s refused (%s), attempt %d of %d", delivery_id, outcome, number, attempts)
            if number < attempts:
                DBOS.sleep(wait_s)
                wait_s *= 2
        return self.give_up_step(delivery_id)

    @DBOS.step(name="crewgate_webhook_post")
    def post_step(self, delivery_id: str) -> str:
        try:
            return attempt(self.engine, delivery_id)
        except DeliveryFailed as exc:  # an answer for the workflow to act on, not an error for DBOS to retry
            return f"{REFUSED}{exc}"

    @DBOS.step(name="crewgate_webhook_give_up")
    def give_up_step(self, delivery_id: str) -> str:
        return give_up(self.engine, delivery_id)

    def start(self, delivery_id: str) -> bool:
        """Start the delivery's workflow here, unless some process already has (its id is the workflow id); started?

        The look first only spares DBOS's warning about a workflow a worker took over
        onto the runs queue; two processes starting one id at once still start it once.
        """
        workflow_id = f"webhook-{delivery_id}"
        if DBOS.get_workflow_status(workflow_id) is not None:
            return False
        with SetWorkflowID(workflow_id):
            DBOS.start_workflow(self.deliver, delivery_id, self.policy.first_wait_s, self.policy.attempts)
        return True


class Dispatcher:
    """Starts the workflow of every pending delivery, once per process; DBOS keeps it once across processes."""

    def __init__(self, delivery: WebhookDelivery) -> None:
        self.delivery = delivery
        self.pending: list[str] = []  # as of the last look
        self._looked_at: set[str] = set()
        self._started: set[str] = set()

    def __call__(self) -> list[str]:
        """Look at the pending deliveries and start those no process has started yet; their ids."""
        self.pending = pending_ids(self.delivery.engine)
        new = [delivery_id for delivery_id in self.pending if delivery_id not in self._looked_at]
        self._looked_at = set(self.pending)
        started = [delivery_id for delivery_id in new if self.delivery.start(delivery_id)]
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
            mine &= set(pending_ids(self.delivery.engine))


def deliver_before_exit(delivery: WebhookDelivery, wait_s: float = BEFORE_EXIT_S) -> None:
    """Start the pending deliveries (a command's run just recorded some) and let them settle, for `wait_s` at most."""
    dispatcher = Dispatcher(delivery)
    dispatcher()
    dispatcher.settle(wait_s)
