"""Who acts: CodeAct crew members, the LLM gateway on litellm, the offline scripted model."""

import os

# litellm fetches a price list from the network when imported unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from .credentials import check_models
from .errors import AgentError, BudgetExceeded, CredentialsError, LLMError, ScriptError, Stopped
from .gateway import Completion, LLMGateway, ReplyLog
from .member import CodeActMember, MemberResult, Turn
from .models import ChatModel, ModelCall, ModelReply, TransientModelError
from .prompts import role_names
from .telemetry import Telemetry, open_telemetry
from .trace import ListSink, TraceEvent, TraceSink
from .usage import Budget, Usage

__all__ = [
    "AgentError",
    "Budget",
    "ChatModel",
    "BudgetExceeded",
    "CodeActMember",
    "CredentialsError",
    "Completion",
    "LLMError",
    "LLMGateway",
    "ListSink",
    "MemberResult",
    "ModelCall",
    "ModelReply",
    "ReplyLog",
    "ScriptError",
    "Stopped",
    "Telemetry",
    "TraceEvent",
    "TraceSink",
    "TransientModelError",
    "Turn",
    "Usage",
    "check_models",
    "open_telemetry",
    "role_names",
]
