"""`python -m workflows.cli` is the same as `crewgate`."""

from . import main

main()
