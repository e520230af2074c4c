"""What a gate freezes and a reviewer approves: the artifact (manifest, diff, changed files) and its git diff."""
