"""What a runbook's templates can see: the run's inputs, earlier outputs, and the run itself."""

from typing import TYPE_CHECKING

from ..plain import JsonObject

if TYPE_CHECKING:  # the queue (a read command) titles its rows with run_variables, without the records' SQLAlchemy
    from ..store.records import Records


def template_variables(records: "Records", run_id: str, outputs: dict[str, str]) -> JsonObject:
    run = records.run(run_id)
    return run_variables(run_id, run.runbook, run.version, run.requester, run.inputs, outputs)


def run_variables(
    run_id: str, runbook: str, version: str, requester: str, inputs: JsonObject, outputs: dict[str, str]
) -> JsonObject:
    """The variables from a run's fields already read (a queue page has them from its own query)."""
    return {
        "inputs": inputs,
        "steps": {step_id: {"output": output} for step_id, output in outputs.items()},
        "run": {"id": run_id, "runbook": runbook, "version": version, "requester": requester},
    }
