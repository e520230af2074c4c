"""What happens when: runbooks, durable runs, gates, promotion, and the CLI."""

__all__: list[str] = []
