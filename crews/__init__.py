"""How members work together: crews on CrewAI (default) and AutoGen, sharing one sandbox."""

from .base import ENGINES, Crew, build_crew
from .members import build_members
from .outcome import CrewOutcome

__all__ = ["ENGINES", "Crew", "CrewOutcome", "build_crew", "build_members"]
