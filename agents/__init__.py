"""Who acts: CodeAct crew members, the LLM gateway on litellm, the offline scripted model."""

from .errors import AgentError, BudgetExceeded, LLMError, ScriptError
from .gateway import Completion, LLMGateway
from .member import CodeActMember, MemberResult, Turn
from .prompts import role_names
from .trace import ListSink, TraceEvent, TraceSink
from .usage import Budget, Usage

__all__ = [
    "AgentError",
    "Budget",
    "BudgetExceeded",
    "CodeActMember",
    "Completion",
    "LLMError",
    "LLMGateway",
    "ListSink",
    "MemberResult",
    "ScriptError",
    "TraceEvent",
    "TraceSink",
    "Turn",
    "Usage",
    "role_names",
]
