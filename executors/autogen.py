"""A crewgate sandbox session as an AutoGen `CodeExecutor`.

Unlike AutoGen's own Docker executor (one `docker exec` and a fresh
interpreter per block), blocks run in the session's persistent kernel: a
variable one block defines is there for the next, and so are files.
Cancelling the token interrupts the running block at once (as a timeout does,
so the session keeps its variables) and the call raises asyncio.CancelledError.
"""

import asyncio

from autogen_core import CancellationToken
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult

from .protocol import Sandbox, SandboxState
from .result import ExecutionResult

PYTHON = frozenset({"python", "py", "python3"})
SHELL = frozenset({"sh", "bash", "shell"})
RESET_NAMESPACE = "[globals().pop(name) for name in list(globals()) if not name.startswith('__')]\nNone"


class SandboxCodeExecutor(CodeExecutor):
    """Runs AutoGen code blocks (python, sh/bash) in a crewgate sandbox session.

    Args:
        sandbox: the session; started by `start()` if it is new.
        timeout: per-block timeout in seconds (default: the sandbox's limit).
        owns_sandbox: close the sandbox on `stop()`.
    """

    def __init__(self, sandbox: Sandbox, timeout: float | None = None, owns_sandbox: bool = False) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.owns_sandbox = owns_sandbox

    async def execute_code_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken
    ) -> CodeResult:
        """Run blocks in order, stopping at the first failure (exit code 1)."""
        outputs: list[str] = []
        running = [True]  # a token outlives this call: its cancel() must not interrupt a later call's block

        def interrupt() -> None:
            if running[0]:
                self.sandbox.interrupt()

        cancellation_token.add_callback(interrupt)  # cancel() interrupts the running block at once
        try:
            return await self._run_blocks(code_blocks, cancellation_token, outputs)
        finally:
            running[0] = False

    async def _run_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken, outputs: list[str]
    ) -> CodeResult:
        for block in code_blocks:
            if cancellation_token.is_cancelled():
                raise asyncio.CancelledError("code execution cancelled")
            language = block.language.lower()
            if language in PYTHON:
                code = block.code
            elif language in SHELL:
                code = f"__import__('subprocess').run(['bash', '-c', {block.code!r}]).returncode"
            else:
                return CodeResult(exit_code=1, output=f"unsupported language {block.language!r}: use python or sh")
            result = await asyncio.to_thread(self._execute, code, cancellation_token)
            if result is None or cancellation_token.is_cancelled():  # interrupted as a timeout would be: state kept
                raise asyncio.CancelledError("code execution cancelled")
            outputs.append(render(result, shell=language in SHELL))
            if not result.ok or (language in SHELL and result.value != "0"):
                return CodeResult(exit_code=1, output="".join(outputs))
        return CodeResult(exit_code=0, output="".join(outputs))

    def _execute(self, code: str, cancellation_token: CancellationToken) -> ExecutionResult | None:
        """The block's result; None if cancelled before it was sent (checked last thing, in the sending thread)."""
        if cancellation_token.is_cancelled():
            return None
        return self.sandbox.execute(code, self.timeout)

    async def start(self) -> None:
        if self.sandbox.state is SandboxState.NEW:
            await asyncio.to_thread(self.sandbox.start)

    async def stop(self) -> None:
        if self.owns_sandbox:
            await asyncio.to_thread(self.sandbox.close)

    async def restart(self) -> None:
        """Forget every variable the blocks defined (files stay)."""
        await asyncio.to_thread(self.sandbox.execute, RESET_NAMESPACE)


def render(result: ExecutionResult, shell: bool = False) -> str:
    """The block's output as an agent reads it: stdout, stderr, value, traceback."""
    parts = [result.stdout, result.stderr]
    if result.value is not None and not shell:
        parts.append(result.value + "\n")
    if result.error:
        parts.append(result.traceback or f"{result.error}\n")
    return "".join(parts)
