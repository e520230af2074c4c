"""Is a model usable from here: a provider litellm knows, and its credentials in the environment.

Asked before a run is recorded, so a missing key is an environment problem named
at once ("set OPENAI_API_KEY for openai/gpt-4o-mini"), not four retries of an
"outage" minutes later; and asked again before each call, for the worker that
runs it. The scripted model needs neither, and never imports litellm.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from executors.errors import BadInput

from ._litellm import litellm_module
from .errors import CredentialsError

# Where litellm falls back to a local server when no address is set, a missing *_API_BASE is no problem.
LOCAL_DEFAULTS = {"ollama", "ollama_chat", "lm_studio", "llamafile"}
KEY_NAMES = {  # for hints once a key was refused: the variables each common provider reads
    "openai": "OPENAI_API_KEY",
    "text-completion-openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azure": "AZURE_API_KEY (with AZURE_API_BASE and AZURE_API_VERSION)",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "bedrock": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
}


def is_scripted(model: str) -> bool:
    return model.startswith("scripted/")


def provider_of(model: str) -> str:
    """litellm's provider for `model`; BadInput when litellm knows no provider by that name."""
    if is_scripted(model):
        return "scripted"
    try:
        _, provider, _, _ = litellm_module().get_llm_provider(model)
    except Exception as exc:  # litellm raises its BadRequestError for an unknown prefix
        prefix = model.partition("/")[0] if "/" in model else model
        raise BadInput(
            f"model {model!r}: litellm knows no provider {prefix!r}. Use a provider prefix such as openai/, "
            "anthropic/, azure/, gemini/, ollama/, hosted_vllm/ (see https://docs.litellm.ai/docs/providers), "
            "or scripted/FILE for the offline scripted model"
        ) from exc
    return str(provider)


def missing_credentials(model: str, params: Mapping[str, Any]) -> list[str]:
    """The environment variables `model` needs and this process lacks (none for the scripted model)."""
    if is_scripted(model):
        return []
    provider = provider_of(model)
    found = litellm_module().validate_environment(
        model=model,
        api_key=_text(params.get("api_key")),
        api_base=_text(params.get("api_base") or params.get("base_url")),
        api_version=_text(params.get("api_version")),
    )
    missing = [str(name) for name in found.get("missing_keys") or []]
    if provider in LOCAL_DEFAULTS or params.get("api_base"):
        missing = [name for name in missing if not name.endswith("_API_BASE")]
    if {"GEMINI_API_KEY", "GOOGLE_API_KEY"} <= set(missing):  # either one will do
        missing = [name for name in missing if name != "GOOGLE_API_KEY"]
        missing[missing.index("GEMINI_API_KEY")] = "GEMINI_API_KEY (or GOOGLE_API_KEY)"
    return missing


def check_models(uses: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Every (model, params) usable from here, or one error naming every variable to set.

    BadInput (exit 2) for a model no provider answers to; CredentialsError (exit 3) for missing keys.
    """
    needed: dict[str, list[str]] = {}
    for model, params in uses:
        missing = missing_credentials(model, params)
        if missing:
            needed.setdefault(model, missing)
    if needed:
        lines = [f"set {' and '.join(names)} for {model}" for model, names in needed.items()]
        raise CredentialsError(
            "; ".join(lines) + ": keys come from the environment of the process that starts the run and of "
            "every worker (never from a runbook). Nothing was recorded. See README: Use a real model"
        )


def key_variable(model: str) -> str:
    """The environment variable(s) holding the key of `model`'s provider (openai for a bare name), as people write
    them: OPENAI_API_KEY, ..., else PROVIDER_API_KEY. For messages; `missing_credentials` asks litellm itself."""
    provider = model.partition("/")[0] if "/" in model else "openai"
    return KEY_NAMES.get(provider) or "".join(c if c.isalnum() else "_" for c in provider).upper() + "_API_KEY"


def credential_hint(model: str) -> str:
    """What to check once a provider refused the key this process has."""
    return f"check {key_variable(model)} in the environment of the process that runs it (crewgate run, crewgate worker)"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
