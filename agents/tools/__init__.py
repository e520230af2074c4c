"""Tools for CodeAct members: Python tool modules and MCP servers, shown to the model as Python stubs."""

from .mcp_client import ListedTool, McpServers, ServerSpec, ToolResult, ToolServerError
from .member_tools import MemberTools
from .python_modules import TOOLS_DIR, described_specs, module_code, source_specs
from .specs import ToolSpec, mcp_tool_spec, namespace_code, python_name, render_tools

__all__ = [
    "TOOLS_DIR",
    "ListedTool",
    "McpServers",
    "MemberTools",
    "ServerSpec",
    "ToolResult",
    "ToolServerError",
    "ToolSpec",
    "described_specs",
    "mcp_tool_spec",
    "module_code",
    "namespace_code",
    "python_name",
    "render_tools",
    "source_specs",
]
