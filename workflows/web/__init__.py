"""The HTTP surface: `crewgate serve` (the JSON API under /api/v1; the review pages come next).

It calls the same service functions as the CLI, so both give the same answers
and the same refusals. The person deciding is the token's user, never a field
of the request.
"""
