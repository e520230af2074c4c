"""Who acts: CodeAct crew members, the LLM gateway on litellm, the offline scripted model.

The names below are imported on first use (executors/lazy_names.py): a command that
only needs `agents.telemetry` or `agents.secret_names` does not import the member
loop, the gateway or litellm's seams.
"""

from typing import TYPE_CHECKING

from executors.lazy_names import lazy_names

from .litellm_settings import settle_litellm_settings

settle_litellm_settings()  # before anything imports litellm (crewAI does too)

if TYPE_CHECKING:  # what a type checker sees: the same names, imported at once
    from .credentials import check_models as check_models
    from .errors import AgentError as AgentError
    from .errors import BudgetExceeded as BudgetExceeded
    from .errors import CredentialsError as CredentialsError
    from .errors import LLMError as LLMError
    from .errors import ScriptError as ScriptError
    from .errors import Stopped as Stopped
    from .gateway import Completion as Completion
    from .gateway import LLMGateway as LLMGateway
    from .gateway import ReplyLog as ReplyLog
    from .member import CodeActMember as CodeActMember
    from .member import MemberResult as MemberResult
    from .member import Turn as Turn
    from .models import ChatModel as ChatModel
    from .models import ModelCall as ModelCall
    from .models import ModelReply as ModelReply
    from .models import TransientModelError as TransientModelError
    from .prompts import role_names as role_names
    from .telemetry import Telemetry as Telemetry
    from .telemetry import open_telemetry as open_telemetry
    from .trace import ListSink as ListSink
    from .trace import TraceEvent as TraceEvent
    from .trace import TraceSink as TraceSink
    from .usage import Budget as Budget
    from .usage import Usage as Usage

_HOMES = {
    "AgentError": ".errors",
    "Budget": ".usage",
    "BudgetExceeded": ".errors",
    "ChatModel": ".models",
    "CodeActMember": ".member",
    "Completion": ".gateway",
    "CredentialsError": ".errors",
    "LLMError": ".errors",
    "LLMGateway": ".gateway",
    "ListSink": ".trace",
    "MemberResult": ".member",
    "ModelCall": ".models",
    "ModelReply": ".models",
    "ReplyLog": ".gateway",
    "ScriptError": ".errors",
    "Stopped": ".errors",
    "Telemetry": ".telemetry",
    "TraceEvent": ".trace",
    "TraceSink": ".trace",
    "TransientModelError": ".models",
    "Turn": ".member",
    "Usage": ".usage",
    "check_models": ".credentials",
    "open_telemetry": ".telemetry",
    "role_names": ".prompts",
}

__all__ = [
    "AgentError",
    "Budget",
    "BudgetExceeded",
    "ChatModel",
    "CodeActMember",
    "Completion",
    "CredentialsError",
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

__getattr__ = lazy_names(__name__, _HOMES)
