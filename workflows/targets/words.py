"""Where approving a gate's artifact writes, in words: the queue's and the item page's "target" line.

Said from the run's pinned runbook and the run's own variables (its id, runbook and
inputs), never from text the crew wrote. The gate step works it out when it opens the
item and the item keeps it, so listing the queue loads no runbook; an item opened
before crewgate kept it has it worked out when shown.
"""

from ..plain import JsonObject
from ..runbook.schema import DirectoryTarget, GateStep, GitTarget, PromoteStep, Runbook
from ..runbook.templates import TemplateProblem, render
from .remote import shown as without_credentials


def target_words(book: Runbook, gate_id: str, variables: JsonObject, paths: int | None) -> str:
    """Where approving the gate's artifact writes: the promote steps after the gate, up to the next gate."""
    ids = [step.id for step in book.steps]
    said = []
    for step in book.steps[ids.index(gate_id) + 1 :]:
        if isinstance(step, GateStep):
            break
        if isinstance(step, PromoteStep):
            said.append(_promotion_words(step.promote, variables, paths))
    if not said:
        return "approving promotes nothing: the runbook has no promote step after this gate"
    return "; then ".join(said)


def _promotion_words(target: object, variables: JsonObject, paths: int | None) -> str:
    changed = "" if paths is None else f" ({paths} changed path{'s' if paths != 1 else ''})"
    if isinstance(target, GitTarget):
        branch = _rendered(target.branch, variables)
        if target.remote is not None:
            remote = without_credentials(_rendered(target.remote, variables))
            return f"approving pushes 1 commit{changed} as the new branch {branch} to {remote}"
        repo = _rendered(target.repo or "", variables)
        return f"approving writes 1 commit{changed} to the new branch {branch} of the repository {repo}"
    if isinstance(target, DirectoryTarget):
        return f"approving writes the change{changed} into the folder {_rendered(target.path, variables)}"
    path = _rendered(getattr(target, "path", ""), variables)
    return f"approving writes the change{changed} as a patch to the file {path}"


def _rendered(template: str, variables: JsonObject) -> str:
    try:
        return render(template, variables)
    except TemplateProblem:  # it needs more than the run knows now: shown as written
        return f"{template} (a template, filled in at promotion)"
