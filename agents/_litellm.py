"""Importing litellm once, offline-safe, with the scripted provider registered.

litellm is heavy (seconds to import), so it is imported lazily, here only. What it
reads from the environment at import is set by this package's `__init__`, which runs
before this module (agents/litellm_settings.py).
"""

from functools import cache
from types import ModuleType


@cache
def litellm_module() -> ModuleType:
    import litellm

    from .scripted import ScriptedProvider

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    providers = [item for item in litellm.custom_provider_map if item.get("provider") != "scripted"]
    litellm.custom_provider_map = [*providers, {"provider": "scripted", "custom_handler": ScriptedProvider()}]
    return litellm
