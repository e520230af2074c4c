"""The CrewAI engine: members are crewAI agents whose work is the CodeAct loop.

Each member plugs in through crewAI's extension point for foreign agents
(`BaseAgentAdapter`), not as a code tool inside crewAI's own text loop: when a
crewAI task reaches a member, the member runs its CodeAct loop in the shared
sandbox and its final answer is the task output. Tasks and processes
(sequential, hierarchical) are crewAI's. The hierarchical manager is crewAI's
own agent, talking to its model through the run's gateway. A `task` step runs its
member directly (CrewBase.run_task): crewAI is not loaded for it.
"""

from typing import Any

from ._environment import quiet_frameworks

quiet_frameworks()

from crewai import Crew, Process, Task  # noqa: E402 - after the offline settings
from crewai.agents.agent_adapters.base_agent_adapter import BaseAgentAdapter  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

from agents import CodeActMember, MemberResult  # noqa: E402
from executors.errors import BadInput  # noqa: E402

from .base import Coordinate, CrewBase  # noqa: E402
from .outcome import CrewOutcome, outcome_from  # noqa: E402

MANAGER = "manager"


class CodeActAgent(BaseAgentAdapter):
    """A crewAI agent whose `execute_task` is a crewgate CodeAct member."""

    # crewAI's crew code reads these from every agent.
    function_calling_llm: Any = None
    step_callback: Any = None

    _member: CodeActMember = PrivateAttr()
    _log: list[MemberResult] = PrivateAttr()
    _step_context: str = PrivateAttr(default="")

    def bind(self, member: CodeActMember, log: list[MemberResult]) -> "CodeActAgent":
        self._member = member
        self._log = log
        return self

    @property
    def last_messages(self) -> list[Any]:
        return []

    def execute_task(self, task: Any, context: str | None = None, tools: list[Any] | None = None) -> str:
        description = str(task.description)
        expected = getattr(task, "expected_output", "")
        text = f"{description}\n\nWhat to deliver: {expected}" if expected else description
        combined = "\n\n".join(part for part in (self._step_context, context or "") if part)
        result = self._member.run(text, combined)
        self._log.append(result)
        if result.status != "done":
            return f"[{self._member.name} stopped: {result.status}: {result.message}]"
        return result.final_answer

    async def aexecute_task(self, task: Any, context: str | None = None, tools: list[Any] | None = None) -> str:
        return self.execute_task(task, context, tools)

    def configure_tools(self, tools: list[Any] | None = None) -> None:
        """Members act through code in the sandbox, not crewAI tools."""

    def configure_structured_output(self, task: Any) -> None:
        """Members answer in text."""

    def create_agent_executor(self, tools: list[Any] | None = None) -> None:
        """The CodeAct loop is the executor."""

    def get_delegation_tools(self, agents: Any) -> list[Any]:
        return []

    def get_platform_tools(self, apps: Any) -> list[Any]:
        return []

    def get_mcp_tools(self, mcps: Any) -> list[Any]:
        return []


class GatewayLLM(BaseLLM):
    """crewAI's view of a model: calls go through the run's gateway (budget, retries, trace)."""

    _coordinate: Coordinate = PrivateAttr()
    _member: str = PrivateAttr(default=MANAGER)
    _log: list[Any] = PrivateAttr(default_factory=list)

    def bind(self, coordinate: Coordinate, member: str = MANAGER) -> "GatewayLLM":
        self._coordinate, self._member = coordinate, member
        return self

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        normalized = [{"role": str(m.get("role", "user")), "content": str(m.get("content") or "")} for m in messages]
        completion = self._coordinate(self._member, normalized)
        self._log.append(completion)
        return completion.text

    def supports_function_calling(self) -> bool:
        return False  # the manager uses crewAI's text ReAct format, which any model can follow


class CrewAICrew(CrewBase):
    """Runs crew steps as crewAI crews."""

    framework = "crewai"

    def _agent(self, name: str, log: list[MemberResult], step_context: str = "") -> CodeActAgent:
        member = self.members[name]
        agent = CodeActAgent(role=name, goal=member.goal or f"act as the {member.role}", backstory=member.role)
        agent._step_context = step_context
        return agent.bind(member, log)

    def run_crew(
        self, goal: str, process: str, members: list[str] | None = None, context: str = "", max_rounds: int = 1
    ) -> CrewOutcome:
        log: list[MemberResult] = []
        names = members or list(self.members)
        agents = [self._agent(name, log, context) for name in names]
        if process == "sequential":
            tasks = [
                Task(
                    description=f"{goal}\n\nYour part, as the crew's {self.members[name].role}: "
                    f"{self.members[name].goal or 'do what your role does'}",
                    expected_output="your final answer",
                    agent=agent,
                )
                for name, agent in zip(names, agents, strict=True)
            ]
            crew = Crew(agents=agents, tasks=tasks, process=Process.sequential, verbose=False)
        elif process == "hierarchical":
            manager = GatewayLLM(model=self.gateway.resolve_model(self.manager_model)).bind(self.coordinate)
            goal_task = Task(description=f"{goal}\n\n{context}".strip(), expected_output="the crew's result")
            crew = Crew(
                agents=agents, tasks=[goal_task], process=Process.hierarchical, manager_llm=manager, verbose=False
            )
        else:
            raise BadInput(f"process {process!r} is not a crewAI process: use sequential or hierarchical")
        output: Any = crew.kickoff()
        return outcome_from(str(output.raw), log)
