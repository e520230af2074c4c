"""Replies as real models write them, served over litellm's real HTTP path into a real Docker sandbox.

Each style is checked by its side effect in /workspace: code that should run appends one `x`
to ran.txt (so running twice shows), code that must never run (inside reasoning) writes
leaked.txt. A member ends only on an explicit final answer; everything else is answered with
a correction the next request carries.
"""

import json
from typing import Any

import pytest

from agents import CodeActMember, ListSink, LLMGateway
from executors import DockerSandbox
from tests.fake_openai import Failure, FakeOpenAI, serve

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("frameworks")]

RUN = "open('/workspace/ran.txt', 'a').write('x')"
LEAK = "open('/workspace/leaked.txt', 'w').write('reasoning ran')"
DONE = "<final_answer>Wrote ran.txt.</final_answer>"


def tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


STYLES: dict[str, str | dict[str, Any]] = {
    "execute tags": f"<execute>\n{RUN}\n</execute>",
    "python fence": f"```python\n{RUN}\n```",
    "bare fence": f"Running it:\n```\n{RUN}\n```",
    "capitalised language": f"```Python\n{RUN}\n```",
    "tilde fence": f"~~~python\n{RUN}\n~~~",
    "crlf line ends": f"```python\r\n{RUN}\r\n```\r\n",
    "inside a numbered list": f"1. Write the file:\n   ```python\n   if True:\n       {RUN}\n   ```\n2. Check it.",
    "think tags, reasoning_content null": {
        "content": f"<think>Maybe this:\n<execute>{LEAK}</execute></think>\n<execute>\n{RUN}\n</execute>",
        "reasoning_content": None,
    },
    "closing think tag only": f"First <execute>{LEAK}</execute>? No.\n</think>\n\n```python\n{RUN}\n```",
    "leading newline before think": f"\n<think>\n```python\n{LEAK}\n```\n</think>\n<execute>{RUN}</execute>",
    "separate reasoning_content": {
        "content": f"<execute>{RUN}</execute>",
        "reasoning_content": f"I could run <execute>{LEAK}</execute> but will not.",
    },
    "tool call carrying code": {"content": None, "tool_calls": [tool_call("python", {"code": RUN})]},
}


@pytest.mark.parametrize("style", STYLES)
def test_each_reply_style_runs_its_code_once_and_never_its_reasoning(docker_box: DockerSandbox, style: str) -> None:
    fake = FakeOpenAI([STYLES[style], DONE])
    sink = ListSink()
    with serve(fake):
        result = member(docker_box, fake, sink).run("Write ran.txt")
    assert result.status == "done", result.message
    assert result.final_answer == "Wrote ran.txt."
    assert docker_box.read_file("ran.txt") == b"x"  # ran exactly once
    assert leaked(docker_box) == "False"
    second_prompt = json.dumps(fake.requests[1]["messages"])
    assert "leaked.txt" not in second_prompt  # reasoning is not carried into later prompts
    if "reasoning" in style or "think" in style:
        assert "leaked.txt" in sink.events[0].reasoning  # but it is in the trace


@pytest.mark.parametrize(
    ("reply", "correction"),
    [
        ("I have finished: the file is written.", "no code to run and no final answer"),
        ("", "was empty"),
        ({"content": None, "tool_calls": [tool_call("search_docs", {"query": "x", "limit": 3})]}, "no tools to call"),
        ({"content": f"<execute>\n{RUN}\n</execute>", "finish_reason": "length"}, "cut off"),
        ({"content": "<final_answer>Wrote ran.txt, and", "finish_reason": "length"}, "cut off"),
        (f"<think>I will write <execute>{LEAK}</execute> and", "only reasoning"),
        (f"```python\n{RUN}\n", "never closed"),
    ],
)
def test_a_reply_without_actionable_code_never_ends_the_member(
    docker_box: DockerSandbox, reply: str | dict[str, Any], correction: str
) -> None:
    fake = FakeOpenAI([reply, f"<execute>{RUN}</execute>", DONE])
    with serve(fake):
        result = member(docker_box, fake).run("Write ran.txt")
    assert result.status == "done" and len(result.turns) == 3
    corrected = fake.requests[1]["messages"][-1]["content"]
    assert correction in corrected
    assert "<final_answer>" in corrected or "close the block" in corrected  # the correction says what to do
    assert docker_box.read_file("ran.txt") == b"x"  # only the second reply's code ran
    assert leaked(docker_box) == "False"


def test_a_model_that_never_acts_fails_clearly_after_a_few_corrections(docker_box: DockerSandbox) -> None:
    fake = FakeOpenAI(["All done, nothing else to do."])
    with serve(fake):
        result = member(docker_box, fake).run("Write ran.txt")
    assert result.status == "error"
    assert "3 replies in a row that could not be acted on" in result.message
    assert len(fake.requests) == 3


def test_code_with_a_final_answer_runs_and_asks_again(docker_box: DockerSandbox) -> None:
    fake = FakeOpenAI([f"<execute>{RUN}</execute>\n<final_answer>Surely fine.</final_answer>", DONE])
    with serve(fake):
        result = member(docker_box, fake).run("Write ran.txt")
    assert result.status == "done" and result.final_answer == "Wrote ran.txt."
    assert "final answer was not taken" in fake.requests[1]["messages"][-1]["content"]


@pytest.mark.parametrize("seconds", [1, 3])
def test_retry_after_is_waited_for(docker_box: DockerSandbox, seconds: int) -> None:
    fake = FakeOpenAI([f"<execute>{RUN}</execute>", DONE], failures=[Failure(429, {"Retry-After": str(seconds)})])
    with serve(fake):
        result = member(docker_box, fake, gateway=LLMGateway(backoff_s=0.1)).run("Write ran.txt")
    assert result.status == "done", result.message
    assert len(fake.requests) == 3
    waited = fake.times[1] - fake.times[0]
    assert seconds - 0.1 <= waited < seconds + 3, waited  # the provider's wait, not the gateway's 0.1 s backoff


def test_retry_after_beyond_the_cap_fails_without_calling_early(docker_box: DockerSandbox) -> None:
    fake = FakeOpenAI([DONE], failures=[Failure(429, {"Retry-After": "3600"})])
    with serve(fake):
        result = member(docker_box, fake, gateway=LLMGateway(retry_after_cap_s=5)).run("Go")
    assert result.status == "error" and "asks to wait 3600s" in result.message
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_retried(docker_box: DockerSandbox, status: int) -> None:
    fake = FakeOpenAI([DONE], failures=[Failure(status)] * 5)
    with serve(fake):
        result = member(docker_box, fake, gateway=LLMGateway(backoff_s=0.01)).run("Go")
    assert result.status == "error" and "refused the credentials" in result.message and "not retried" in result.message
    assert len(fake.requests) == 1


def leaked(box: DockerSandbox) -> str | None:
    """Whether code from inside a reasoning block ran (it writes leaked.txt)."""
    return box.execute("import os; os.path.exists('/workspace/leaked.txt')").value


def member(
    box: DockerSandbox, fake: FakeOpenAI, sink: ListSink | None = None, gateway: LLMGateway | None = None
) -> CodeActMember:
    return CodeActMember(
        "coder",
        "coder",
        "openai/fake-model",
        box,
        model_params={"api_base": fake.url, "api_key": "sk-test-not-a-real-key"},
        gateway=gateway or LLMGateway(backoff_s=0.05),
        trace=sink or ListSink(),
    )
