"""Turning execution results into the next message the model reads."""

from collections.abc import Sequence

from executors import ExecutionResult


def shorten(text: str, limit: int) -> str:
    """Keep the head and tail of `text` within about `limit` characters, saying what was cut."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}\n...[{len(text) - 2 * half} characters elided]...\n{text[-half:]}"


def render_result(result: ExecutionResult) -> str:
    parts = []
    if result.stdout:
        parts.append(result.stdout.rstrip("\n"))
    if result.stderr:
        parts.append("[stderr]\n" + result.stderr.rstrip("\n"))
    if result.value is not None:
        parts.append(f"Out: {result.value}")
    if result.error:
        parts.append(result.traceback.rstrip("\n") or result.error)
    if result.timed_out:
        parts.append("[the cell timed out]")
    if result.kernel_restarted:
        parts.append("[the Python session was restarted: define your variables and imports again]")
    if result.truncated:
        parts.append("[some output was elided by the sandbox]")
    return "\n".join(parts) if parts else "(no output)"


def render_observation(results: Sequence[ExecutionResult], blocks: int, limit: int) -> str:
    """One observation for all blocks a reply ran; later blocks are skipped after an error."""
    sections = []
    for number, result in enumerate(results, 1):
        heading = f"[block {number}]\n" if blocks > 1 else ""
        sections.append(heading + render_result(result))
    if len(results) < blocks:
        sections.append(
            f"[stopped at the error in block {len(results)}: blocks {len(results) + 1}-{blocks} did not run]"
        )
    return "Observation:\n" + shorten("\n".join(sections), limit)
