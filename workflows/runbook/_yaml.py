"""YAML with positions: every key and value keeps its line and column.

PyYAML's safe loader silently keeps the last of two equal keys; here a
duplicate key is an error. Tabs and syntax errors come back with their mark.
"""

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


@dataclass
class Positions:
    """Where each value (by path) and each mapping key (by path) starts; `spans`: each value's text, by index."""

    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: Path, key: bool = False) -> Mark:
        """The closest known position: the key or value itself, else its nearest parent."""
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Mark(1, 1))


class YamlProblem(Exception):
    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.mark = mark


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def parse(text: str) -> tuple[Any, Positions]:
    """Parse one YAML document; raise YamlProblem with a position on any error."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        problem = exc.problem or str(exc)
        if "\t" in problem or "'\\t'" in problem:
            problem = "a tab character: YAML indentation must use spaces"
        elif exc.context_mark is not None and "quoted scalar" in (exc.context or ""):
            opened = exc.context_mark  # the problem is where the quote opened, not where the file ends
            position = Mark(opened.line + 1, opened.column + 1)
            ended = f" at line {mark.line + 1}" if mark else ""
            problem = f"this quote is never closed ({exc.problem}{ended}): close it on this line"
        elif (quote := _quote_running_on(text, mark)) is not None:
            opened, closed = quote  # a quote left open swallows the lines after it: the error shows up later
            position = Mark(opened.line + 1, opened.column + 1)
            problem = (
                f"this quote is not closed on its line: it runs on to line {closed.line + 1}, and then {problem}; "
                "close it on this line"
            )
        elif exc.context_mark is not None and exc.context:
            opened = exc.context_mark
            problem += f" ({exc.context} started at line {opened.line + 1}, column {opened.column + 1})"
        raise YamlProblem(f"YAML syntax error: {problem}", position) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML error: {exc}", Mark(1, 1)) from exc
    positions = Positions()
    if node is None:
        return None, positions
    constructor = yaml.SafeLoader("")
    return _build(node, (), positions, constructor), positions


def _quote_running_on(text: str, error: Any) -> tuple[Any, Any] | None:
    """The last quoted value before `error` that runs over several lines: (where it opens, where it closes).

    Runbooks put quoted values on one line; one that spans lines is almost always a quote
    left open, which YAML only notices at a later line.
    """
    if error is None:
        return None
    found = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= error.index:
                break
            quoted = isinstance(token, yaml.ScalarToken) and token.style in ('"', "'")
            if quoted and token.end_mark.line > token.start_mark.line:
                found = (token.start_mark, token.end_mark)
    except yaml.YAMLError:
        pass
    return found


def _build(node: yaml.Node, path: Path, positions: Positions, constructor: yaml.SafeLoader) -> Any:
    positions.values[path] = _mark(node)
    positions.spans[path] = (node.start_mark.index, node.end_mark.index)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem("a mapping key must be a plain value", _mark(key_node))
            key = str(constructor.construct_object(key_node))
            if key == "<<":
                raise YamlProblem("merge keys (<<) are not supported in runbooks", _mark(key_node))
            if key in result:
                first = positions.keys[(*path, key)]
                raise YamlProblem(f"duplicate key {key!r} (first defined at line {first.line})", _mark(key_node))
            positions.keys[(*path, key)] = _mark(key_node)
            result[key] = _build(value_node, (*path, key), positions, constructor)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, index), positions, constructor) for index, item in enumerate(node.value)]
    return constructor.construct_object(node)
