"""crewgate tests (a package, so tests can share helpers)."""
