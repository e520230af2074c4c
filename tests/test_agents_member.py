"""CodeAct members on the scripted model and over real HTTP, on real sandboxes."""

from pathlib import Path

import pytest
import yaml

from agents import Budget, CodeActMember, ListSink, LLMGateway
from executors import Sandbox
from tests.fake_openai import FakeOpenAI, serve

# crewAI and litellm take seconds to import: one worker runs every in-process test that needs them
pytestmark = pytest.mark.xdist_group("frameworks")


def script(tmp_path: Path, replies: dict[str, list[str]]) -> str:
    path = tmp_path / "replies.yaml"
    path.write_text(yaml.safe_dump(replies))
    return f"scripted/{path}"


def test_member_debugs_itself_through_the_scripted_model(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(
        tmp_path,
        {
            "coder": [
                "Let me compute it.\n<execute>\nroot = math.sqrt(1764)\nroot\n</execute>",
                "I forgot the import.\n<execute>\nimport math\nroot = math.sqrt(1764)\nroot\n</execute>",
                "<final_answer>The square root of 1764 is 42.0.</final_answer>",
            ]
        },
    )
    sink = ListSink()
    member = CodeActMember("coder", "coder", model, any_box, goal="Compute things", trace=sink)
    result = member.run("What is the square root of 1764?")
    assert result.status == "done"
    assert "42.0" in result.final_answer
    first, second, final = result.turns
    assert "NameError: name 'math' is not defined" in first.observation
    assert first.result is not None and first.result.error == "NameError"
    sent_second = sink.events[1].messages
    assert sent_second[-1]["role"] == "user"
    assert "NameError: name 'math' is not defined" in sent_second[-1]["content"]  # what the model saw
    assert second.result is not None and second.result.value == "42.0"
    assert final.code == ()
    assert result.usage.calls == 3 and result.usage.total_tokens > 0
    assert [event.turn for event in sink.events] == [1, 2, 3]


def test_member_over_real_http_with_provider_usage(any_box: Sandbox) -> None:
    fake = FakeOpenAI(
        ["<execute>\nanswer = 6 * 7\nprint(answer)\n</execute>", "<final_answer>The answer is 42.</final_answer>"]
    )
    sink = ListSink()
    with serve(fake):
        member = CodeActMember(
            "coder",
            "coder",
            "openai/fake-coder",
            any_box,
            model_params={"api_base": fake.url, "api_key": "sk-test-not-a-real-key"},
            trace=sink,
        )
        result = member.run("Compute 6 * 7")
    assert result.status == "done" and "42" in result.final_answer
    assert "Observation:\n42" in result.turns[0].observation
    assert len(fake.requests) == 2
    assert fake.requests[1]["messages"][-1]["content"].startswith("Observation:\n42")
    assert fake.headers[0]["Authorization"] == "Bearer sk-test-not-a-real-key"
    assert result.usage.prompt_tokens == 2 * fake.prompt_tokens
    assert result.usage.completion_tokens == 2 * fake.completion_tokens
    assert all(event.usage.prompt_tokens == fake.prompt_tokens for event in sink.events)
    assert "sk-test-not-a-real-key" not in repr([event.to_dict() for event in sink.events])
    assert any_box.execute("answer").value == "42"  # the code ran in the shared session


def test_fifty_turns_stay_within_the_prompt_budget(any_box: Sandbox, tmp_path: Path) -> None:
    replies = [f"Step {n}.\n<execute>\nprint('step {n}: ' + 'x' * 300)\n</execute>" for n in range(1, 50)]
    model = script(tmp_path, {"coder": [*replies, "<final_answer>All 49 steps done.</final_answer>"]})
    sink = ListSink()
    budget = 1500
    member = CodeActMember("coder", "coder", model, any_box, max_turns=50, prompt_budget_tokens=budget, trace=sink)
    result = member.run("Do fifty small steps.")
    assert result.status == "done" and len(result.turns) == 50
    from agents.tokens import estimate_message_tokens

    sizes = [estimate_message_tokens(event.messages) for event in sink.events if event.messages]
    assert len(sizes) == 50 and max(sizes) <= budget
    last = sink.events[-1]
    assert last.elided_turns > 0
    assert f"turns 1-{last.elided_turns} of your work were elided" in last.messages[1]["content"]
    assert last.messages[0]["role"] == "system" and last.messages[1]["content"].startswith("Do fifty small steps.")
    assert "step 49" in last.messages[-1]["content"]  # the latest turn is always kept


def test_budget_exhaustion_ends_with_budget_status(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(tmp_path, {"coder": ["<execute>\nprint(1)\n</execute>"] * 20})
    gateway = LLMGateway(budget=Budget(max_tokens=1200))
    result = CodeActMember("coder", "coder", model, any_box, max_turns=20, gateway=gateway).run("Loop")
    assert result.status == "budget"
    assert "budget exceeded" in result.message and "1200 tokens" in result.message
    assert 0 < len(result.turns) < 20


def test_exhausted_script_names_file_and_member(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(tmp_path, {"coder": ["<execute>\nprint('one')\n</execute>"]})
    result = CodeActMember("coder", "coder", model, any_box).run("Go")
    assert result.status == "error"
    assert "ran out of replies for member 'coder'" in result.message
    assert "replies.yaml" in result.message


def test_missing_script_file_is_a_clear_error(any_box: Sandbox, tmp_path: Path) -> None:
    result = CodeActMember("coder", "coder", f"scripted/{tmp_path}/nope.yaml", any_box).run("Go")
    assert result.status == "error" and "does not exist" in result.message


def test_provider_that_keeps_failing_ends_with_error(any_box: Sandbox) -> None:
    fake = FakeOpenAI(["unused"], status=500)
    waits: list[float] = []
    with serve(fake):
        gateway = LLMGateway(retries=3, backoff_s=0.5, backoff_cap_s=1.0, sleep=waits.append)
        member = CodeActMember(
            "coder",
            "coder",
            "openai/fake",
            any_box,
            gateway=gateway,
            model_params={"api_base": fake.url, "api_key": "sk-test-failing"},
        )
        result = member.run("Go")
    assert result.status == "error"
    assert "kept failing (4 attempts)" in result.message
    assert "sk-test-failing" not in result.message
    assert len(fake.requests) == 4
    assert waits == [0.5, 1.0, 1.0]  # capped exponential backoff


def test_provider_refusal_is_not_retried(any_box: Sandbox) -> None:
    fake = FakeOpenAI(["unused"], status=401)
    with serve(fake):
        member = CodeActMember(
            "coder",
            "coder",
            "openai/fake",
            any_box,
            model_params={"api_base": fake.url, "api_key": "sk-wrong"},
            gateway=LLMGateway(sleep=lambda _: None),
        )
        result = member.run("Go")
    assert result.status == "error" and "refused" in result.message
    assert len(fake.requests) == 1


def test_unterminated_block_is_reported_back_and_fixed(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(
        tmp_path,
        {
            "coder": [
                "<execute>\nvalue = 1 + 1\n",
                "<execute>\nvalue = 1 + 1\nvalue\n</execute>",
                "<final_answer>2</final_answer>",
            ]
        },
    )
    result = CodeActMember("coder", "coder", model, any_box).run("Add")
    assert result.status == "done"
    assert "never closed" in result.turns[0].observation and result.turns[0].results == ()
    assert result.turns[1].result is not None and result.turns[1].result.value == "2"


def test_only_unterminated_blocks_fail_the_member_after_the_corrections(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(tmp_path, {"coder": ["```python\nprint('never closed')\n"] * 5})
    result = CodeActMember("coder", "coder", model, any_box, max_turns=5).run("Go")
    assert result.status == "error"
    assert "3 replies in a row that could not be acted on" in result.message and "never closed" in result.message
    assert len(result.turns) == 3 and all("never closed" in turn.observation for turn in result.turns)


def test_blocks_run_in_order_and_stop_at_the_first_error(any_box: Sandbox, tmp_path: Path) -> None:
    reply = (
        "<execute>\nsteps = ['a']\n</execute>\n<execute>\nsteps.append(undefined)\n</execute>\n"
        "<execute>\nsteps.append('c')\n</execute>"
    )
    model = script(tmp_path, {"coder": [reply, "<final_answer>Done.</final_answer>"]})
    result = CodeActMember("coder", "coder", model, any_box).run("Go")
    first = result.turns[0]
    assert len(first.results) == 2 and first.results[1].error == "NameError"
    assert "blocks 3-3 did not run" in first.observation
    assert any_box.execute("steps").value == "['a']"


def test_fenced_python_blocks_and_context(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(
        tmp_path, {"tester": ["```python\nprint('fenced ran')\n```", "<final_answer>Tests: 1 passed.</final_answer>"]}
    )
    sink = ListSink()
    result = CodeActMember("tester", "tester", model, any_box, trace=sink).run("Test it", context="plan: step 1")
    assert result.status == "done" and "fenced ran" in result.turns[0].observation
    assert "Context from earlier steps:\nplan: step 1" in sink.events[0].messages[1]["content"]


def test_long_observations_keep_head_and_tail(any_box: Sandbox, tmp_path: Path) -> None:
    reply = "<execute>\nprint('FIRST'); print('y' * 20000); print('LAST')\n</execute>"
    model = script(tmp_path, {"coder": [reply, "<final_answer>ok</final_answer>"]})
    result = CodeActMember("coder", "coder", model, any_box, observation_chars=1000).run("Go")
    observation = result.turns[0].observation
    assert "FIRST" in observation and "LAST" in observation and "characters elided" in observation
    assert len(observation) < 1200


def square_of(number: int) -> int:
    """Return number squared. Use it instead of writing your own."""
    return number * number


def test_helpers_are_described_and_callable(any_box: Sandbox, tmp_path: Path) -> None:
    model = script(tmp_path, {"coder": ["<execute>\nsquare_of(12)\n</execute>", "<final_answer>144</final_answer>"]})
    member = CodeActMember("coder", "coder", model, any_box, helpers=[square_of])
    assert "def square_of(number: int) -> int:" in member.system
    assert "Use it instead of writing your own." in member.system
    result = member.run("Square 12")
    assert result.turns[0].result is not None and result.turns[0].result.value == "144"
