"""Semantic versions of runbooks (light: the store sorts versions without loading pydantic)."""

import re

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key: releases after their pre-releases, numerically by part."""
    match = SEMVER.match(version)
    if not match:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    return (major, minor, patch, 0 if pre else 1, pre or "")
