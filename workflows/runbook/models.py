"""The models a run calls: the runbook's, or one run's override (`crewgate run --model`), checked before recording.

An override is part of the run's record (its provenance): the worker that hosts
the run, a resumed run and `runs replay` all apply the same one, and `runs show`
names it. It never changes the registered runbook, whose content stays pinned.
"""

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from agents.script_file import resolve_scripted
from agents.secret_names import is_secret_name

from ..errors import BadInput
from ..plain import JsonObject
from .schema import Runbook

CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]*@")


@dataclass(frozen=True)
class ModelOverride:
    """`--model` (every member's and the coordinator's model) and `--model-param` (merged over the runbook's)."""

    model: str | None = None
    params: JsonObject = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.model is not None or bool(self.params)

    def describe(self) -> str:
        """For people: `openai/gpt-4o-mini with temperature=0`."""
        params = ", ".join(f"{name}={value}" for name, value in sorted(self.params.items()))
        if self.model and params:
            return f"{self.model} with {params}"
        return self.model or f"the runbook's, with {params}"

    def to_json(self) -> str | None:
        """The run row's `model_override` column; None when nothing is overridden."""
        return json.dumps({"model": self.model, "params": self.params}, sort_keys=True) if self else None

    @classmethod
    def from_json(cls, text: str | None) -> "ModelOverride":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(data.get("model"), dict(data.get("params") or {}))

    def apply(self, book: Runbook) -> Runbook:
        """The runbook as this run calls models: the override's model everywhere, its params on top."""
        if not self:
            return book
        members = {
            name: member.model_copy(
                update={
                    "model": None if self.model else member.model,
                    "model_params": {**member.model_params, **self.params},
                }
            )
            for name, member in book.crew.members.items()
        }
        return book.model_copy(
            update={
                "model": self.model or book.model,
                "model_params": {**book.model_params, **self.params},
                "crew": book.crew.model_copy(update={"members": members}),
            }
        )


def parse_override(model: str | None, pairs: Sequence[str]) -> ModelOverride:
    """`--model MODEL` and `--model-param K=V` as given on a command line (or in a request); BadInput if wrong.

    Values are read as YAML scalars (`temperature=0` is a number). A secret-looking name is
    refused: keys come from the environment. A relative `scripted/` path is taken from here.
    """
    params: JsonObject = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            raise BadInput(f"--model-param {pair!r} is not NAME=VALUE: e.g. --model-param temperature=0")
        if is_secret_name(name):
            raise BadInput(
                f"--model-param {name}: a secret is never passed on a command line or recorded with a run; "
                "set the provider's key in the environment instead (e.g. OPENAI_API_KEY)"
            )
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        if isinstance(value, str) and CREDENTIALS_IN_URL.search(value):
            raise BadInput(
                f"--model-param {name}: the address carries a user name and password; they would be recorded with "
                "the run. Give the address without them and the key in the environment"
            )
        if isinstance(value, (dict, list)):
            raise BadInput(
                f"--model-param {name}: give one value (text, number, true/false), not {type(value).__name__}"
            )
        params[name] = value
    if model is not None:
        model = model.strip()
        if not model:
            raise BadInput("--model is empty: give a litellm model string such as openai/gpt-4o-mini")
        model = resolve_scripted(model, None)  # a relative path is taken from here
        if model.startswith("scripted/") and not Path(model.removeprefix("scripted/")).is_file():
            raise BadInput(f"--model {model}: the scripted model file does not exist")
    return ModelOverride(model, params)


def models_used(book: Runbook) -> Iterator[tuple[str, JsonObject]]:
    """Every (model, params) a run of `book` may call: each member's, and the runbook's (crews' coordinators)."""
    yield book.model, dict(book.model_params)
    for member in book.crew.members.values():
        yield member.model or book.model, {**book.model_params, **member.model_params}


def check_models_usable(book: Runbook) -> None:
    """Stop before anything is recorded when a model cannot be called from here (exit 2 or 3, see agents)."""
    uses = [(model, params) for model, params in models_used(book) if not model.startswith("scripted/")]
    if not uses:
        return  # the scripted model needs no key, and no litellm import
    from agents.credentials import check_models

    check_models(uses)
