"""Settings that keep crewAI and litellm from waiting on a network that is not there.

crewAI's own telemetry is off by CREWAI_DISABLE_TELEMETRY (and its tracing by
CREWAI_TRACING_ENABLED). OTEL_SDK_DISABLED is not set: it would turn every
OpenTelemetry SDK in the process into a no-op, crewgate's own spans included.
"""

import os

from agents.litellm_settings import settle_litellm_settings

OFFLINE_DEFAULTS = {
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
}


def quiet_frameworks() -> None:
    """Set the defaults unless the user chose otherwise."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    settle_litellm_settings()  # crewAI imports litellm
