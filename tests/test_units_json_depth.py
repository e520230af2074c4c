"""How deep a request body nests, counted in one linear pass (workflows/web/json_depth.py)."""

import json
import random
import time

import pytest

from workflows.web.json_depth import MAX_JSON_DEPTH, json_depth


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH + 1),
        (b'{"a": ' + nested(40) + b"}", 41),
        (b'["' + b"[" * 100 + b'"]', 1),  # brackets inside a string do not count
        (b'["\\"' + b"[" * 100 + b'"]', 1),  # nor after an escaped quote inside it
        (b'["\\\\"' + nested(40) + b"]", 41),  # an escaped backslash ends before the quote: the string closes
        (b"[" * 20 + b'"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"' + b"]" * 20, 20),
    ],
)
def test_depth_counts_brackets_outside_strings(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_depth_agrees_with_parsing_random_documents() -> None:
    chance = random.Random(7)  # noqa: S311 -- reproducible documents, not secrets

    def scalar() -> object:
        return chance.choice(['"[{]}\\\\"', 'x\\"[', 1, None, "plain", "{[", "\\"])

    def build(level: int) -> object:
        """One nested child per level (so the size stays small), among scalars that look like brackets."""
        if level == 0:
            return scalar()
        items = [scalar() for _ in range(chance.randint(0, 2))] + [build(level - 1)]
        chance.shuffle(items)
        if chance.random() < 0.5:
            return items
        return {f"k{n}": item for n, item in enumerate(items)}

    def depth(value: object) -> int:
        if isinstance(value, list):
            return 1 + max((depth(item) for item in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(item) for item in value.values()), default=0)
        return 0

    for _ in range(200):
        document = [build(chance.randint(1, 60))]
        body = json.dumps(document).encode()
        expected = depth(document)
        if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
            assert json_depth(body) == expected, body[:200]


def test_a_hostile_body_takes_linear_time() -> None:
    body = b"[" * 40 + b'"' + b'\\"' * 2_000_000  # four megabytes of escaped quotes inside one string
    began = time.monotonic()
    assert json_depth(body) == 40
    assert time.monotonic() - began < 5
