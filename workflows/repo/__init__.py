"""The repository a run works on: git plumbing and the run's base tree (the recorded commit, never the working tree)."""
