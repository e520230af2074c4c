"""Where an approved artifact goes: a git branch, a folder, a patch file (local) or a remote, each read back
after writing (check) so a promotion counts only when what was written is exactly what was approved."""
