"""Runbook templates: a sandboxed Jinja environment with strict undefined.

Templates may use `inputs.<name>`, `steps.<id>.output` and `run.<field>`;
anything else is an error, found when the runbook is validated rather than
halfway through a run.
"""

from dataclasses import dataclass
from functools import cache

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from executors.errors import BadInput

from ..plain import JsonObject

ROOTS = frozenset({"inputs", "steps", "run"})


class TemplateProblem(BadInput):
    """A template that cannot be parsed or rendered."""


@cache
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class References:
    """What a template refers to: root names and `root.attribute` pairs."""

    roots: frozenset[str]
    attributes: frozenset[tuple[str, str]]


def references(template: str) -> References:
    """Parse a template and list what it uses. Raises TemplateProblem on a syntax error."""
    try:
        tree = environment().parse(template)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from exc
    roots = frozenset(meta.find_undeclared_variables(tree))
    attributes = set()
    for getattr_node in tree.find_all(nodes.Getattr):
        target = getattr_node.node
        if isinstance(target, nodes.Name) and target.name in ROOTS:
            attributes.add((target.name, getattr_node.attr))
    for getitem_node in tree.find_all(nodes.Getitem):
        target, key = getitem_node.node, getitem_node.arg
        if isinstance(target, nodes.Name) and target.name in ROOTS and isinstance(key, nodes.Const):
            attributes.add((target.name, str(key.value)))
    return References(roots, frozenset(attributes))


def render(template: str, variables: JsonObject) -> str:
    """Render with strict undefined; raise TemplateProblem naming what was missing."""
    try:
        return environment().from_string(template).render(**variables)
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateProblem(f"template error: {exc}") from exc
