"""How members work together: crew engines on CrewAI and AutoGen."""

__all__: list[str] = []
