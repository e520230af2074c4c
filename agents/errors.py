"""Errors of the agent layer: the model provider, the scripted model, the budget."""

from executors.errors import CrewgateError, Exit


class AgentError(CrewgateError):
    """A crew member could not get a reply it can act on."""


class LLMError(AgentError):
    """The model provider failed (after retries, or with an error retrying cannot fix)."""


class ScriptError(AgentError):
    """The scripted model's reply file is missing, malformed, or out of replies."""

    exit_code = Exit.BAD_INPUT


class BudgetExceeded(AgentError):
    """The run's token or money budget is spent."""


class Stopped(AgentError):
    """The run was stopped from outside (cancelled): no model is called any more."""


class CredentialsError(LLMError):
    """A model's credentials are missing or refused (401/403): retrying cannot help, the environment must change."""

    exit_code = Exit.ENVIRONMENT
