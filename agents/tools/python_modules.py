"""Python tool modules: files beside the runbook, imported into the kernel before the first cell.

They are written outside /workspace (so they are never part of the artifact), imported,
and each public function is put in a namespace named after its module through a thin
wrapper that asks the host first: the host checks the member's allow-list and counts
the call. The function itself runs in the sandbox, with the sandbox's rights only; the
allow-list keeps a member to its tools, it is not a wall between a cell and a module it
could import by hand. Signatures and docstrings are read with `inspect` in the sandbox.
"""

import ast
import json
from collections.abc import Mapping

from ..errors import AgentError
from .specs import ToolSpec

DESCRIBED = "[crewgate tool modules] "  # starts the line a describing cell prints its JSON on
TOOLS_DIR = "/tmp/crewgate-tools"  # noqa: S108 -- the sandbox's own tmpfs, outside /workspace


def module_code(modules: Mapping[str, bytes], describe: bool = False) -> str:
    """Kernel code: write and import each module, define its namespace; with `describe`, print its stubs as JSON."""
    code = f"""
import functools as _cg_functools, importlib as _cg_importlib, inspect as _cg_inspect
import json as _cg_json, os as _cg_os, sys as _cg_sys, types as _cg_types
_cg_os.makedirs({TOOLS_DIR!r}, exist_ok=True)
for _cg_name, _cg_source in {dict(modules)!r}.items():
    with open({TOOLS_DIR!r} + "/" + _cg_name + ".py", "wb") as _cg_file:
        _cg_file.write(_cg_source)
if {TOOLS_DIR!r} not in _cg_sys.path:
    _cg_sys.path.insert(0, {TOOLS_DIR!r})

def _cg_checked(_cg_qualified, _cg_function):
    @_cg_functools.wraps(_cg_function)
    def _cg_call(*args, **kwargs):
        __crewgate_tool__(_cg_qualified, {{}}, True)
        return _cg_function(*args, **kwargs)
    return _cg_call

_cg_described = {{}}
for _cg_name in {sorted(modules)!r}:
    _cg_sys.modules.pop(_cg_name, None)
    _cg_module = _cg_importlib.import_module(_cg_name)
    _cg_functions = {{
        _cg_attr: _cg_value for _cg_attr, _cg_value in vars(_cg_module).items()
        if not _cg_attr.startswith("_") and _cg_inspect.isfunction(_cg_value) and _cg_value.__module__ == _cg_name
    }}
    globals()[_cg_name] = _cg_types.SimpleNamespace(
        **{{_cg_attr: _cg_checked(_cg_name + "." + _cg_attr, _cg_f) for _cg_attr, _cg_f in _cg_functions.items()}}
    )
    _cg_described[_cg_name] = [
        {{"name": _cg_attr, "signature": str(_cg_inspect.signature(_cg_f)), "doc": _cg_inspect.getdoc(_cg_f) or ""}}
        for _cg_attr, _cg_f in _cg_functions.items()
    ]
"""
    if describe:  # on a line of its own, after whatever the modules printed when imported
        code += f"print({DESCRIBED!r} + _cg_json.dumps(_cg_described))\n"
    return code


def described_specs(printed: str, truncated: bool = False) -> list[ToolSpec]:
    """The stubs a describing cell printed (untrusted text: only its shape is relied on). AgentError if unreadable."""
    line = next((line for line in reversed(printed.splitlines()) if line.startswith(DESCRIBED)), None)
    try:
        data = json.loads(line.removeprefix(DESCRIBED)) if line is not None else None
    except ValueError:
        data = None
    if data is None:
        cut = " (the cell's output was cut: the modules print too much when imported, or their docstrings are long)"
        raise AgentError("the tool modules' signatures and docstrings could not be read" + (cut if truncated else ""))
    if not isinstance(data, dict):
        raise AgentError("the tool modules' description is not a JSON object")
    specs = []
    for module, functions in data.items():
        for function in functions if isinstance(functions, list) else []:
            if isinstance(function, dict) and all(
                isinstance(function.get(key), str) for key in ("name", "signature", "doc")
            ):
                specs.append(ToolSpec(str(module), function["name"], function["signature"], function["doc"], "python"))
    return specs


def source_specs(module: str, source: bytes) -> list[ToolSpec]:
    """A module's public top-level functions as written in its source, for `crewgate tools list` (no sandbox).

    The prompt's stubs are read with `inspect` in the sandbox; these come from the same `def` lines.
    """
    specs = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            signature = f"({ast.unparse(node.args)}){returns}"
            specs.append(ToolSpec(module, node.name, signature, ast.get_docstring(node) or "", "python"))
    return specs
