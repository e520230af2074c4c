"""How members work together: crews on CrewAI (default) and AutoGen, sharing one sandbox."""

from .base import Crew
from .frameworks import FRAMEWORKS, build_crew
from .members import build_members
from .outcome import CrewOutcome

__all__ = ["FRAMEWORKS", "Crew", "CrewOutcome", "build_crew", "build_members"]
