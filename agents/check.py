"""`crewgate models check`: one minimal call to a model, to see that a key, a server and a price work."""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .credentials import is_scripted, missing_credentials
from .errors import AgentError, CredentialsError
from .gateway import LLMGateway
from .usage import Usage

PING = [{"role": "user", "content": "Reply with the single word: ok"}]


@dataclass(frozen=True)
class ModelCheck:
    """How one call went: `ok`, the reply, its latency, tokens and price; `problem` says what failed."""

    model: str
    ok: bool
    latency_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    reply: str = ""
    problem: str = ""
    missing_keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "ok": self.ok,
            "latency_s": round(self.latency_s, 3),
            "prompt_tokens": self.usage.prompt_tokens,
            "completion_tokens": self.usage.completion_tokens,
            "cost_usd": self.usage.cost_usd,
            "priced": self.usage.unpriced_calls == 0,
            "reply": self.reply,
            "problem": self.problem,
            "missing_keys": list(self.missing_keys),
        }


def check_model(model: str, params: Mapping[str, Any], timeout_s: float = 30.0) -> ModelCheck:
    """Call `model` once with a tiny prompt (no retries beyond one); never raises for a model's failure."""
    if is_scripted(model):
        path = Path(model.removeprefix("scripted/"))
        if path.is_file():
            return ModelCheck(model, True, reply="(the offline scripted model: no call, no key, no cost)")
        return ModelCheck(model, False, problem=f"the scripted model file {path} does not exist")
    missing = missing_credentials(model, params)
    if missing:
        return ModelCheck(model, False, problem=f"set {' and '.join(missing)} for {model}", missing_keys=tuple(missing))
    gateway = LLMGateway(retries=1, timeout_s=timeout_s, backoff_s=1.0)
    started = time.perf_counter()
    try:
        completion = gateway.complete(model, PING, {**params, "max_tokens": 16}, member="models-check")
    except CredentialsError as exc:
        return ModelCheck(model, False, time.perf_counter() - started, problem=str(exc), missing_keys=("refused",))
    except AgentError as exc:
        return ModelCheck(model, False, time.perf_counter() - started, problem=str(exc))
    return ModelCheck(model, True, completion.latency_s, completion.usage, completion.text.strip()[:200])
