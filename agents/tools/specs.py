"""Tools as the model and the kernel see them: Python stubs, one namespace per module or server.

Both kinds of tool end up as a `ToolSpec`: a qualified name (`time.get_current_time`,
`repo_tools.grep`), a signature and a docstring. The model reads them as Python
stubs in its system prompt, the CodeAct way; the kernel gets generated code that
defines each namespace. That code is built from checked identifiers, a fixed set
of type names and `repr`-quoted text only, so nothing a server describes can
become code in the sandbox.
"""

import keyword
import math
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JSON_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
}
SCALAR_DEFAULTS = (str, int, float, bool, type(None))
RESERVED = ("_cg_", "__crewgate")  # the generated code's own names: no tool or parameter may take them
DOC_CHARS = 2000  # of a server's description, per tool: the prompt is the model's to spend


@dataclass(frozen=True)
class Parameter:
    """One keyword parameter of an MCP tool's stub: its Python name and the key the server expects."""

    name: str
    key: str
    hint: str
    required: bool
    default: object = None


@dataclass(frozen=True)
class ToolSpec:
    """One callable tool. `signature` is Python text, e.g. `(*, timezone: str) -> dict | str`."""

    namespace: str
    function: str
    signature: str
    doc: str
    kind: Literal["python", "mcp"]
    original: str = ""  # an MCP tool's own name, when it is not a Python identifier
    parameters: tuple[Parameter, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.namespace}.{self.function}"

    def stub(self) -> str:
        """The stub the model reads: `def function(signature):` and the docstring."""
        doc = (self.doc or "(no description)").replace('"""', r"\"\"\"")
        doc = re.sub("`{3,}", lambda fence: " ".join(fence.group()), doc)  # no fence can close the stubs' block
        return f"def {self.function}{self.signature}:\n{textwrap.indent(chr(34) * 3 + doc + chr(34) * 3, '    ')}"


def python_name(name: str) -> str:
    """A tool or parameter name as a Python identifier: other characters become `_`, a keyword gets `_` after."""
    mapped = re.sub(r"\W", "_", name, flags=re.ASCII) or "_"
    if mapped[0].isdigit():
        mapped = f"_{mapped}"
    return f"{mapped}_" if keyword.iskeyword(mapped) else mapped


def mcp_tool_spec(
    server: str, tool: str, description: str | None, schema: Mapping[str, Any], structured: bool
) -> ToolSpec:
    """The stub of an MCP tool, from its input JSON Schema: keyword-only parameters, required ones first."""
    found = schema.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    parameters, docs = [], []
    for key, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        default = prop.get("default")
        parameters.append(
            Parameter(
                python_name(str(key)),
                str(key),
                _hint(prop),
                key in required,
                default if isinstance(default, SCALAR_DEFAULTS) and _finite(default) else None,
            )
        )
        if prop.get("description"):
            docs.append(f"{python_name(str(key))}: {str(prop['description'])[:300]}")
    parameters.sort(key=lambda parameter: not parameter.required)
    names = [parameter.name for parameter in parameters]
    reserved = [name for name in [*names, python_name(tool)] if name.startswith(RESERVED)]
    if reserved:
        raise ValueError(f"{server}.{tool}: {reserved[0]!r} is a name crewgate keeps for itself")
    if len(set(names)) != len(names):
        raise ValueError(f"{server}.{tool}: two parameters map to one Python name ({', '.join(names)})")
    shown = [p.name + f": {p.hint}" + ("" if p.required else f" = {p.default!r}") for p in parameters]
    signature = f"({'*, ' + ', '.join(shown) if shown else ''}) -> {'dict' if structured else 'str | list'}"
    doc = (description or "").strip()[:DOC_CHARS]
    if docs:
        doc += "\n\nArgs:\n" + "\n".join(f"    {line}" for line in docs)
    return ToolSpec(server, python_name(tool), signature, doc, "mcp", tool, tuple(parameters))


def _finite(value: object) -> bool:
    """A default `repr` can write back as Python: not inf or nan."""
    return not isinstance(value, float) or math.isfinite(value)


def _hint(prop: Mapping[str, Any]) -> str:
    kinds = prop.get("type")
    names = [
        JSON_TYPES.get(kind, "None" if kind == "null" else "object")
        for kind in (kinds if isinstance(kinds, list) else [kinds])
        if kind
    ]
    if prop.get("enum") and all(isinstance(value, str) for value in prop["enum"]):
        return "str"
    return " | ".join(dict.fromkeys(names)) or "object"


def render_tools(specs: Sequence[ToolSpec]) -> str:
    """The prompt section: each namespace's stubs, with how to call them."""
    if not specs:
        return ""
    blocks = []
    for namespace in dict.fromkeys(spec.namespace for spec in specs):
        group = [spec for spec in specs if spec.namespace == namespace]
        kind = "an MCP server, called through crewgate" if group[0].kind == "mcp" else "a Python tool module"
        header = f"# namespace `{namespace}` ({kind}): call as {namespace}.{group[0].function}(...)"
        blocks.append(header + "\n" + "\n\n".join(spec.stub() for spec in group))
    return (
        "## Tools you can call from your code\n"
        "They are defined in the session (do not assign to their names). A tool's error is raised as an "
        "exception (PermissionError when you may not call it) you can catch or read in the Observation.\n"
        "```python\n" + "\n\n".join(blocks) + "\n```"
    )


def namespace_code(specs: Iterable[ToolSpec]) -> str:
    """Kernel code defining the MCP namespaces: each function sends its call to the host.

    The functions are made inside `_cg_define`, so their names never touch the session's variables:
    only each namespace (the server's name) is set in it.
    """
    lines = ["def _cg_define():", "    _cg_ns = {}"]
    for spec in specs:
        if spec.kind != "mcp":
            continue
        _check_identifier(spec.namespace)
        _check_identifier(spec.function)
        params = []
        for parameter in spec.parameters:
            _check_identifier(parameter.name)
            params.append(parameter.name if parameter.required else f"{parameter.name}={parameter.default!r}")
        arguments = ", ".join(
            f"{parameter.key!r}: {parameter.name}" for parameter in spec.parameters if parameter.required
        )
        optional = [parameter for parameter in spec.parameters if not parameter.required]
        lines.append(f"    def {spec.function}({'*, ' + ', '.join(params) if params else ''}):")
        lines.append(f"        _cg_arguments = {{{arguments}}}")
        for parameter in optional:  # an optional argument left out is not sent: the server's default applies
            sent = f"_cg_arguments[{parameter.key!r}] = {parameter.name}"
            lines.append(f"        if {parameter.name} != {parameter.default!r}: {sent}")
        lines.append(f"        return __crewgate_tool__({spec.name!r}, _cg_arguments)")
        lines.append(f"    {spec.function}.__doc__ = {spec.doc!r}")
        lines.append(f"    _cg_ns.setdefault({spec.namespace!r}, {{}})[{spec.function!r}] = {spec.function}")
    lines.append("    return _cg_ns")
    lines.append("import types as _cg_types")
    lines.append("for _cg_name, _cg_functions in _cg_define().items():")
    lines.append("    globals()[_cg_name] = _cg_types.SimpleNamespace(**_cg_functions)")
    lines.append("del _cg_define")
    return "\n".join(lines)


def _check_identifier(name: str) -> None:
    if not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a Python identifier")
    if name.startswith(RESERVED):
        raise ValueError(f"{name!r} is a name crewgate keeps for itself")
