"""Which names hold secrets: one predicate for the gateway, telemetry, and runbook validation.

Kept apart from the litellm adapter so the runbook layer can ask without
pulling in anything heavy.
"""

SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "authorization", "credential", "cookie")


def secret_word(name: str) -> str | None:
    """The first secret word `name` contains, ignoring case (`OpenAI_Token` -> token), or None."""
    lowered = name.lower()
    return next((word for word in SECRET_WORDS if word in lowered), None)


def is_secret_name(name: str) -> bool:
    """Whether a variable or model param with this name holds a secret (api_key, OPENAI_API_KEY, ...)."""
    return secret_word(name) is not None
