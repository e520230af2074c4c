"""Importing litellm once, offline-safe, with the scripted provider registered.

litellm is heavy (seconds to import) and reads settings from the environment at
import (agents/litellm_settings.py); so it is imported lazily, here only.
"""

from functools import cache
from types import ModuleType

from .litellm_settings import settle_litellm_settings


@cache
def litellm_module() -> ModuleType:
    settle_litellm_settings()
    import litellm

    from .scripted import ScriptedProvider

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    providers = [item for item in litellm.custom_provider_map if item.get("provider") != "scripted"]
    litellm.custom_provider_map = [*providers, {"provider": "scripted", "custom_handler": ScriptedProvider()}]
    return litellm
