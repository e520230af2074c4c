"""Settings that keep crewAI and litellm from waiting on a network that is not there."""

import os

OFFLINE_DEFAULTS = {
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}


def quiet_frameworks() -> None:
    """Set the defaults unless the user chose otherwise."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
