"""What a runbook's templates can see: the run's inputs, earlier outputs, and the run itself."""

from ..plain import JsonObject
from ..store.records import Records


def template_variables(records: Records, run_id: str, outputs: dict[str, str]) -> JsonObject:
    run = records.run(run_id)
    return {
        "inputs": run.inputs,
        "steps": {step_id: {"output": output} for step_id, output in outputs.items()},
        "run": {"id": run_id, "runbook": run.runbook, "version": run.version, "requester": run.requester},
    }
