"""Importing litellm once, offline-safe, with the scripted provider registered.

litellm is heavy (seconds to import) and, unless told otherwise, fetches a price
list from the network at import; so it is imported lazily, here only.
"""

import os
from functools import cache
from types import ModuleType


@cache
def litellm_module() -> ModuleType:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    from .scripted import ScriptedProvider

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    providers = [item for item in litellm.custom_provider_map if item.get("provider") != "scripted"]
    litellm.custom_provider_map = [*providers, {"provider": "scripted", "custom_handler": ScriptedProvider()}]
    return litellm
