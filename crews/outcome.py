"""What a crew step produced."""

from dataclasses import dataclass

from agents import MemberResult, Usage


@dataclass(frozen=True)
class CrewOutcome:
    """The step's output text and every member run behind it, in order.

    `ok` is False when any member stopped without a final answer (max_turns,
    budget, error); `message` then says who and why.
    """

    output: str
    results: tuple[MemberResult, ...]
    ok: bool = True
    message: str = ""

    @property
    def usage(self) -> Usage:
        total = Usage()
        for result in self.results:
            total = total + result.usage
        return total

    @property
    def members(self) -> tuple[str, ...]:
        """Who acted, in order (a member may appear more than once)."""
        return tuple(result.member for result in self.results)


def outcome_from(output: str, results: list[MemberResult]) -> CrewOutcome:
    failed = [result for result in results if result.status != "done"]
    if failed:
        reasons = "; ".join(f"{result.member}: {result.status} ({result.message})" for result in failed)
        return CrewOutcome(output, tuple(results), ok=False, message=reasons)
    return CrewOutcome(output, tuple(results))
