"""What litellm reads from the environment when it is imported, set before anything imports it.

Each is set unless the user chose otherwise:
- `LITELLM_LOCAL_MODEL_COST_MAP`: the price list comes from the package, not fetched from the
  network at import.
- `LITELLM_MODE=PRODUCTION`: in its default DEV mode litellm loads the first `.env` file found
  above its own install folder (the folder holding the virtualenv, often a project's own) into the
  process environment. That would configure crewgate from a file it never names, and only from
  the first model call on, so one process could see two settings.
"""

import os

LITELLM_IMPORT_SETTINGS = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MODE": "PRODUCTION"}


def settle_litellm_settings() -> None:
    for name, value in LITELLM_IMPORT_SETTINGS.items():
        os.environ.setdefault(name, value)
