"""`crewgate models check`: is a model (or every model of a runbook) callable from here, how fast, at what price."""

from typing import TYPE_CHECKING

import click

from executors.errors import Exit

from ._output import HOME_DATABASE, emit_json

if TYPE_CHECKING:
    from agents.check import ModelCheck


@click.group()
def models() -> None:
    """The models runs call (litellm model strings; see README: Use a real model)."""


@models.command(name="check")
@click.argument("target")
@click.option(
    "--model-param", "model_params", multiple=True, metavar="NAME=VALUE", help="A litellm param (repeatable)."
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=30.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One object per model: ok, latency_s, tokens, cost_usd, problem.")
def check(target: str, model_params: tuple[str, ...], timeout_s: float, as_json: bool) -> None:
    """One minimal call to each model of TARGET: a runbook (file, NAME@VERSION, NAME) or a model string.

    Prints each model's latency, tokens and price. Exit 0 when every call worked, 3 when a key
    is missing or refused, 1 when a call failed otherwise, 2 for an unknown provider.
    """
    from ..service.models import check_models

    results = check_models(HOME_DATABASE, target, model_params, timeout_s)
    if as_json:
        emit_json([result.to_dict() for result in results])
    else:
        for result in results:
            click.echo(_line(result))
    if any(result.missing_keys for result in results):
        raise SystemExit(Exit.ENVIRONMENT)
    if not all(result.ok for result in results):
        raise SystemExit(Exit.FAILED)


def _line(result: "ModelCheck") -> str:
    if not result.ok:
        return f"{result.model}: FAILED: {result.problem}"
    usage = result.usage
    price = f"${usage.cost_usd:.6f}" if not usage.unpriced_calls else "price unknown to litellm"
    return (
        f"{result.model}: ok in {result.latency_s:.2f}s, {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion tokens, {price}; replied {result.reply!r}"
    )
