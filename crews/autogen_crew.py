"""The AutoGen engine: members are AgentChat agents whose turn is the CodeAct loop.

A `crew` step runs a `RoundRobinGroupChat` (members in order, for at most
`max_rounds` rounds) or a `SelectorGroupChat` (a model picks who speaks next,
through the run's gateway), each with a termination condition. A `task` step
runs its member directly (CrewBase.run_task): AutoGen is not loaded for it.
"""

import asyncio
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import ChatAgent, Response, Team
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.messages import BaseChatMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient, CreateResult, LLMMessage, ModelInfo, RequestUsage

from agents import CodeActMember, MemberResult
from executors.errors import BadInput

from .base import Coordinate, CrewBase
from .outcome import CrewOutcome, outcome_from

DONE_WORD = "TERMINATE"
SELECTOR = "selector"


class CodeActChatAgent(BaseChatAgent):
    """An AgentChat agent that answers each turn by running its member's CodeAct loop."""

    def __init__(self, member: CodeActMember, log: list[MemberResult], goal: str = "", context: str = "") -> None:
        super().__init__(member.name, member.goal or f"the crew's {member.role}")
        self.member = member
        self.log = log
        self.goal = goal
        self.context = context
        self.transcript: list[str] = []

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage,)

    async def on_messages(self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken) -> Response:
        for message in messages:
            self.transcript.append(f"[{message.source}] {message.to_text()}")
        task = self.goal or (self.transcript[-1] if self.transcript else "")
        if self.goal and self.transcript:
            task += "\n\nThe conversation so far:\n" + "\n\n".join(self.transcript)
        result = await asyncio.to_thread(self.member.run, task, self.context)
        self.log.append(result)
        answer = result.final_answer if result.status == "done" else f"[stopped: {result.status}: {result.message}]"
        self.transcript.append(f"[{self.name}] {answer}")
        return Response(chat_message=TextMessage(content=answer, source=self.name))

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        self.transcript.clear()


class GatewayChatClient(ChatCompletionClient):
    """AutoGen's view of a model (used by the selector): calls go through the run's gateway."""

    def __init__(self, coordinate: Coordinate) -> None:
        self.coordinate = coordinate
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)

    async def create(self, messages: Sequence[LLMMessage], *args: Any, **kwargs: Any) -> CreateResult:
        plain = [
            {"role": "system" if m.type == "SystemMessage" else "user", "content": str(m.content)} for m in messages
        ]
        completion = await asyncio.to_thread(self.coordinate, SELECTOR, plain)
        usage = RequestUsage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        self._usage = RequestUsage(
            self._usage.prompt_tokens + usage.prompt_tokens, self._usage.completion_tokens + usage.completion_tokens
        )
        return CreateResult(finish_reason="stop", content=completion.text, usage=usage, cached=False)

    def create_stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[str | CreateResult, None]:
        raise NotImplementedError("GatewayChatClient does not stream")

    async def close(self) -> None:
        """Nothing to release: the gateway belongs to the run."""

    def actual_usage(self) -> RequestUsage:
        return self._usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], **kwargs: Any) -> int:
        return sum(len(str(message.content)) // 4 for message in messages)

    def remaining_tokens(self, messages: Sequence[LLMMessage], **kwargs: Any) -> int:
        return 128_000 - self.count_tokens(messages)

    @property
    def capabilities(self) -> Any:  # deprecated in AutoGen; model_info is what it reads
        return self.model_info

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(
            vision=False, function_calling=False, json_output=False, family="unknown", structured_output=False
        )


class AutoGenCrew(CrewBase):
    """Runs crew steps as AgentChat teams."""

    framework = "autogen"

    def run_crew(
        self, goal: str, process: str, members: list[str] | None = None, context: str = "", max_rounds: int = 1
    ) -> CrewOutcome:
        log: list[MemberResult] = []
        names = members or list(self.members)
        agents: list[ChatAgent | Team] = [
            CodeActChatAgent(self.members[name], log, goal=goal, context=context) for name in names
        ]
        stop = MaxMessageTermination(1 + len(agents) * max_rounds) | TextMentionTermination(DONE_WORD)
        team: RoundRobinGroupChat | SelectorGroupChat
        if process == "round_robin":
            team = RoundRobinGroupChat(agents, termination_condition=stop)
        elif process == "selector":
            chooser = GatewayChatClient(self.coordinate)
            team = SelectorGroupChat(agents, model_client=chooser, termination_condition=stop)
        else:
            raise BadInput(f"process {process!r} is not an AutoGen process: use round_robin or selector")
        result = asyncio.run(team.run(task=goal))
        spoken = [message for message in result.messages if message.source in names]
        output = spoken[-1].to_text() if spoken else ""
        return outcome_from(output, log)
