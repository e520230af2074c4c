"""`review show` as text: sections under headers, evidence quoted, decisions apart.

Everything from the run or from people (paths, link targets, the diff, outputs,
names, messages) passes the one renderer; evidence sits behind a gutter, so no
line a model wrote can look like one crewgate printed.
"""

import json

import click

from ..service.clusters import ClusterView
from ..service.story_views import ItemStory
from ..service.views import ReviewView
from ..visible import display_lines, visible
from ._display import one_line, quoted

OUTPUT_SHOWN = 1500
FOLD_AT = 200  # characters of a request value shown before it is folded


def review_lines(view: ReviewView, full: bool) -> tuple[list[str], tuple[str, ...]]:
    """The text lines of a review view, and every display flag raised while rendering it."""
    lines: list[str] = []
    flags: dict[str, None] = {}

    def block(text: str) -> None:
        shown, raised = quoted(text)
        lines.extend(shown)
        flags.update(dict.fromkeys(raised))

    policy = view.policy
    if view.story is not None:
        told, raised = story_lines(view.story, view.requester, full)
        lines += told
        flags.update(dict.fromkeys(raised))
    lines.append(
        f"policy: {policy['required']} approval(s) from {', '.join(one_line(r) for r in view.reviewers)}; "
        f"the requester ({one_line(view.requester)}) {'may' if policy.get('allow_requester') else 'may not'} approve; "
        f"expires: {view.expires_at or 'never'}"
    )
    lines.append(
        f"checked in: {one_line(view.image)} ({(view.image_id or 'id not recorded')[:19]}) under {view.runtime}"
    )
    if view.artifact_problem:
        lines.append(f"\n⚠ the artifact cannot be shown: {one_line(view.artifact_problem)}")
        return lines, tuple(flags)
    lines += _change_list(view)
    for change in view.changes:  # a name or link target that had to be escaped warns in the header too
        side = change.new or change.old
        flags.update(dict.fromkeys(_flags_of(change.path, side.target or "" if side else "")))
    for warning in view.warnings:
        lines.append(f"⚠ {one_line(warning)}")
    lines.append("\n== diff (git format; `git apply` takes it as it is) ==")
    diff = view.diff.rstrip("\n") or "(no changes)"
    shown, raised = quoted(diff)
    lines.extend(coloured_diff(shown, display_lines(diff)))
    flags.update(dict.fromkeys(raised))
    if view.tool_calls:
        lines.append(f"\n== tool calls made by the run ({len(view.tool_calls)}; arguments and results: runs trace) ==")
        block("\n".join(view.tool_calls))
    lines.append("\n== evidence: step outputs (written by the crew, quoted) ==")
    for step_id, output in view.outputs.items():
        text = output.strip()
        if not full and len(text) > OUTPUT_SHOWN:
            text = (
                f"[crewgate: the first {len(text) - OUTPUT_SHOWN} of {len(text)} characters are not shown; "
                f"--full shows all]\n" + text[-OUTPUT_SHOWN:]
            )
        lines.append(f"-- {one_line(step_id)} --")
        block(text or "(no output)")
    lines.append("\n== decisions ==")
    for decision in view.decisions:
        message = f': "{one_line(decision.message)}"' if decision.message else ""
        raised = _flags_of(decision.reviewer, decision.message)
        flags.update(dict.fromkeys(raised))
        gutter = "⚠ " if raised else "  "
        who = one_line(decision.reviewer)
        lines.append(f"{gutter}{decision.created_at}  {who}  {decision.decision}{message}")
    if not view.decisions:
        lines.append("  (none yet)")
    lines.append(f"\ntrace: {view.evidence.get('trace')}")
    return lines, tuple(flags)


def story_lines(story: ItemStory, requester: str, full: bool) -> tuple[list[str], tuple[str, ...]]:
    """What was asked and by whom, where approving writes, the earlier rounds and the steps at a glance; and
    every display flag raised. A line holding text from a person or the crew that had to be escaped starts ⚠."""
    flags: dict[str, None] = {}

    def gutter(indent: str, *texts: str) -> str:  # a request's newlines are its own, not hidden text
        raised = tuple(flag for text in texts for flag in visible(text).flags)
        flags.update(dict.fromkeys(raised))
        return "⚠ " + indent[2:] if raised else indent

    origin = "".join(
        f", {kind} {one_line(name)}" for kind, name in (("batch", story.batch), ("schedule", story.schedule)) if name
    )
    lines = [f"requested by {one_line(requester)} with {one_line(story.runbook)}{origin}"]
    for name, value in story.request.items():
        lines.append(f"{gutter('  ', name, str(value))}{one_line(name)}: {_folded(value, full)}")
    lines.append(f"target: {one_line(story.target)}")
    if story.rounds:
        lines.append(f"round {story.round} of this gate: {story.rounds[-1].since}")
        for past in story.rounds:
            lines.append(f"  round {past.number} ({past.review_id}, {past.status.replace('_', ' ')}): {past.since}")
            for decision in past.decisions:
                where = f" (step {one_line(decision.target_step)})" if decision.target_step else ""
                said = f': "{one_line(decision.message)}"' if decision.message else ""
                who = one_line(decision.reviewer)
                indent = gutter("    ", decision.reviewer, decision.message)
                lines.append(f"{indent}{who} {decision.decision.replace('_', ' ')}{where}{said}")
    failing = ", ".join(one_line(step.id) for step in story.failing)
    lines.append(f"steps before the gate{f' (failing: {failing})' if failing else ''}:")
    for step in story.steps:
        tries = f" after {step.tries} tries" if step.tries > 1 else ""
        verdict = one_line(step.verdict)[:100] if step.verdict else "(no output)"
        lines.append(
            f"{gutter('  ', step.verdict)}{one_line(step.id):<14} {step.kind:<6} {step.status}{tries}: {verdict}"
        )
    return lines, tuple(flags)


def _folded(value: object, full: bool) -> str:
    """A request value on one line: text past its first line (or 200 characters) is folded unless --full."""
    if not isinstance(value, str):
        return one_line(json.dumps(value))
    rows = display_lines(value.strip())
    if full or (len(rows) == 1 and len(value) <= FOLD_AT):
        return one_line(value)
    more = f"{len(rows) - 1} more line(s), " if len(rows) > 1 else ""
    return f"{one_line(rows[0][:FOLD_AT])} […{more}{len(value)} characters; --full shows all]"


DIFF_STYLES = (("diff --git ", {"bold": True}), ("@@", {"fg": "cyan"}), ("+", {"fg": "green"}), ("-", {"fg": "red"}))


def coloured_diff(shown: list[str], raw: list[str]) -> list[str]:
    """The quoted diff lines, styled by what each raw line is; the styles are dropped unless colour is on
    (`click.echo` strips them off a terminal, with --color never or NO_COLOR)."""
    styled = []
    for text, line in zip(shown, raw, strict=True):
        style = next((style for prefix, style in DIFF_STYLES if line.startswith(prefix)), None)
        header = line.startswith(("+++ ", "--- "))
        styled.append(click.style(text, bold=True) if header else click.style(text, **style) if style else text)
    return styled


def _change_list(view: ReviewView) -> list[str]:
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in view.summary.items() if n)
    lines = [f"\n== what approval promotes: {len(view.changes)} path(s): {counts or 'none'} =="]
    for change in view.changes:
        old, new = change.old, change.new
        side = new or old
        if side is None:  # a change always has a side; never print a line for nothing
            continue
        what = {"file": "file", "link": "symlink"}[side.kind]
        changed_mode = old and new and old.mode != new.mode
        mode = f"{old.mode} -> {new.mode}" if old and new and changed_mode else side.mode
        detail = f"-> {one_line(side.target or '')}" if side.kind == "link" else f"{side.size} bytes"
        marks = f"  [{', '.join(change.flags)}]" if change.flags else ""
        lines.append(f"  {change.status:<13} {what:<8} {mode:<17} {one_line(change.path)} {detail}{marks}")
    return lines


def _flags_of(*texts: str) -> tuple[str, ...]:
    return tuple(flag for text in texts for flag in visible(text, multiline=False).flags)


def cluster_lines(view: ClusterView) -> list[str]:
    """A cluster as text: its members, the batch's other pending items with their differences, the diff."""
    lines = [f"cluster {view.id} of batch {view.batch}: {len(view.members)} item(s) make the same change"]
    for member in view.members:
        lines.append(f"  {member.review_id}  sha256 {member.artifact_sha256[:12]}  {member.relation}")
    if view.others:
        lines.append(f"other pending items of the batch (not decided with this cluster): {len(view.others)}")
        for other in view.others:
            lines.append(f"  {other.review_id}  sha256 {other.artifact_sha256[:12]}  differs:")
            shown, _ = quoted("\n".join(other.differences) or "(only its mode or its file list differs)")
            lines.extend("  " + line for line in shown)
    lines.append(f"\nrepresentative: {view.representative.id} (`crewgate review show {view.representative.id}`)")
    diff = view.representative.diff.rstrip("\n") or "(no changes)"
    shown, _ = quoted(diff)
    lines.extend(coloured_diff(shown, display_lines(diff)))
    lines.append(f"\ndecide all: crewgate review approve --cluster {view.id} --reviewer YOUR_NAME")
    return lines
