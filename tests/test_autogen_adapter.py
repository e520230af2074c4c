"""The sandbox as an AutoGen CodeExecutor, driven by AutoGen's own CodeExecutorAgent."""

import asyncio
import time

import pytest
from autogen_agentchat.agents import CodeExecutorAgent
from autogen_agentchat.messages import TextMessage
from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult

from executors import DockerSandbox, LocalSandbox
from executors.autogen import SandboxCodeExecutor
from tests.conftest import FAST_LIMITS

pytestmark = pytest.mark.docker


def ask(agent: CodeExecutorAgent, text: str) -> str:
    message = TextMessage(content=text, source="user")
    response = asyncio.run(agent.on_messages([message], CancellationToken()))
    return str(response.chat_message.content)


def test_code_executor_agent_runs_blocks_in_one_stateful_session(docker_box: DockerSandbox) -> None:
    executor = SandboxCodeExecutor(docker_box)
    assert isinstance(executor, CodeExecutor)
    agent = CodeExecutorAgent("runner", code_executor=executor, approval_func=lambda request: _approve())
    first = ask(agent, "Run this:\n```python\nimport os\nanswer = 6 * 7\nprint('pid', os.getpid() > 0)\n```")
    assert "pid True" in first
    second = ask(agent, "And this:\n```python\nprint(answer)\n```")
    assert "42" in second  # the variable survived between messages: one kernel, not one per block
    shell = ask(agent, "```sh\necho from-shell > note.txt && cat note.txt\n```")
    assert "from-shell" in shell
    assert docker_box.read_file("note.txt") == b"from-shell\n"


def test_failures_report_exit_code_and_traceback(docker_box: DockerSandbox) -> None:
    executor = SandboxCodeExecutor(docker_box)
    blocks = [CodeBlock(code="1 / 0", language="python"), CodeBlock(code="print('not reached')", language="python")]
    result = asyncio.run(executor.execute_code_blocks(blocks, CancellationToken()))
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.output and "not reached" not in result.output
    unknown = asyncio.run(executor.execute_code_blocks([CodeBlock("x", "ruby")], CancellationToken()))
    assert unknown.exit_code == 1 and "unsupported language" in unknown.output


def test_restart_forgets_variables(docker_box: DockerSandbox) -> None:
    executor = SandboxCodeExecutor(docker_box)
    asyncio.run(executor.execute_code_blocks([CodeBlock("kept = 1", "python")], CancellationToken()))
    asyncio.run(executor.restart())
    after = asyncio.run(executor.execute_code_blocks([CodeBlock("kept", "python")], CancellationToken()))
    assert after.exit_code == 1 and "NameError" in after.output


def _approve():  # type: ignore[no-untyped-def]
    from autogen_agentchat.agents import ApprovalResponse

    return ApprovalResponse(approved=True, reason="test")


def test_cancelling_the_token_interrupts_a_ten_second_block_within_a_second_and_keeps_the_session(
    docker_box: DockerSandbox,
) -> None:
    """AutoGen's own executor tests expect this of every CodeExecutor."""
    executor = SandboxCodeExecutor(docker_box, timeout=30)

    async def scenario() -> float:
        await executor.start()
        await executor.execute_code_blocks([CodeBlock("kept = 41", "python")], CancellationToken())
        token = CancellationToken()
        running = asyncio.create_task(
            executor.execute_code_blocks([CodeBlock("import time\ntime.sleep(10)", "python")], token)
        )
        await asyncio.sleep(1)
        cancelled_at = time.monotonic()
        token.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        took = time.monotonic() - cancelled_at
        after = await executor.execute_code_blocks([CodeBlock("kept + 1", "python")], CancellationToken())
        assert after.exit_code == 0 and "42" in after.output
        return took

    took = asyncio.run(scenario())
    assert took < 1, took
    assert docker_box.replacements == 0


def test_an_interrupt_with_no_cell_running_changes_nothing() -> None:
    with LocalSandbox(limits=FAST_LIMITS) as box:
        box.interrupt()
        assert box.execute("x = 1\nx").value == "1"
        box.interrupt()
        assert box.execute("x + 1").value == "2"


def test_cancelling_an_old_token_does_not_interrupt_a_later_call(docker_box: DockerSandbox) -> None:
    executor = SandboxCodeExecutor(docker_box, timeout=30)

    async def scenario() -> CodeResult:
        old = CancellationToken()
        await executor.execute_code_blocks([CodeBlock("x = 1", "python")], old)
        later = asyncio.create_task(
            executor.execute_code_blocks(
                [CodeBlock("import time\ntime.sleep(1)\nx + 1", "python")], CancellationToken()
            )
        )
        await asyncio.sleep(0.3)
        old.cancel()  # its call ended long ago
        return await later

    result = asyncio.run(scenario())
    assert result.exit_code == 0 and "2" in result.output
