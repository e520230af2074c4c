"""Who acts: role prompts, the CodeAct member loop, the LLM gateway."""

__all__: list[str] = []
