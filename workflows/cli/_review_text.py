"""`review show` as text: sections under headers, evidence quoted, decisions apart.

Everything from the run or from people (paths, link targets, the diff, outputs,
names, messages) passes the one renderer; evidence sits behind a gutter, so no
line a model wrote can look like one crewgate printed.
"""

from ..service.views import ReviewView
from ..visible import visible
from ._display import one_line, quoted

OUTPUT_SHOWN = 1500


def review_lines(view: ReviewView, full: bool) -> tuple[list[str], tuple[str, ...]]:
    """The text lines of a review view, and every display flag raised while rendering it."""
    lines: list[str] = []
    flags: dict[str, None] = {}

    def block(text: str) -> None:
        shown, raised = quoted(text)
        lines.extend(shown)
        flags.update(dict.fromkeys(raised))

    policy = view.policy
    lines.append(
        f"policy: {policy['required']} approval(s) from {', '.join(one_line(r) for r in view.reviewers)}; "
        f"requester ({one_line(view.requester)}) may approve: {policy['allow_requester']}; "
        f"expires: {view.expires_at or 'never'}"
    )
    lines.append(f"checked in: {one_line(view.image)} ({(view.image_id or 'id not recorded')[:19]})")
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
    block(view.diff.rstrip("\n") or "(no changes)")
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
