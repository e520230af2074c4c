"""Reading a model's reply: its reasoning, its code, its final answer, or what to tell it instead.

Real models write code in many ways, so this is lenient about *where* code is and
strict about *when* a member ends:

- Code goes in `<execute>...</execute>`; failing those, fenced blocks: ```` ``` ````
  or `~~~`, any length of three or more, tagged `python`/`py`/`python3` in any case,
  or untagged when the block is valid Python. A block indented inside a list is
  dedented. Other languages (```` ```bash ````, ```` ```text ````) are not code.
- Reasoning is never code: everything up to the last `</think>` (or `</thinking>`),
  or a reply that opens `<think>` and never closes it, is kept for the trace and
  left out of what runs and of later prompts. Models that send no opening tag (R1
  distills, QwQ) are covered by the closing one.
- A member ends only on an explicit final answer, `<final_answer>...</final_answer>`
  (or a line starting `Final answer:`), in a reply without code. A reply with neither
  code nor a final answer, an empty reply, a reply cut off at the output limit, or a
  tool call without code is not an ending: it is answered with a correction.
"""

import re
import textwrap
from dataclasses import dataclass

_EXECUTE = re.compile(r"<execute>(.*?)</execute>", re.DOTALL)
_REASONING_END = re.compile(r"</think(?:ing)?>", re.IGNORECASE)
_REASONING_START = re.compile(r"\A\s*<think(?:ing)?>", re.IGNORECASE)
_FINAL_TAG = re.compile(r"<final_answer>(.*?)(?:</final_answer>|\Z)", re.DOTALL | re.IGNORECASE)
_FINAL_LINE = re.compile(r"^[ \t>*_#]*final answer[*_]*\s*:[*_]*[ \t]*", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*?)[ \t]*$")
_TOOL_CALL = re.compile(r'<tool_call name="([^"]*)">', re.IGNORECASE)
PYTHON_TAGS = {"python", "python3", "py", "ipython", "ipython3"}

FINAL_FORM = "<final_answer>your answer</final_answer>"
HOW_TO_ACT = f"To act, put Python in <execute>...</execute>; when you are finished, reply without code as {FINAL_FORM}."
RESEND = "Nothing was run: close the block and send it again."


@dataclass(frozen=True)
class ParsedReply:
    """What a reply asks for.

    `code` runs in order; when there is none, `final` ends the member, else `problem` is sent back
    as a correction. `visible` is the reply without its reasoning (what later prompts carry);
    `reasoning` is kept for the trace only.
    """

    code: tuple[str, ...]
    problem: str | None = None
    final: str | None = None
    visible: str = ""
    reasoning: str = ""


def parse_reply(text: str, reasoning: str = "", finish_reason: str | None = None) -> ParsedReply:
    """Read `text` (and a provider's separate `reasoning`) as the member loop acts on it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    thought, visible = split_reasoning(text)
    reasoning = "\n".join(part for part in (reasoning.strip(), thought) if part)
    if finish_reason == "length":
        return ParsedReply(
            (),
            "Your reply was cut off at the output token limit (finish_reason: length), so none of it was run "
            f"or taken as final. Send shorter code, or split the work over several replies. {HOW_TO_ACT}",
            visible=visible,
            reasoning=reasoning,
        )
    if not visible.strip():
        said = "Your reply was only reasoning, with no answer after it." if reasoning else "Your reply was empty."
        return ParsedReply((), f"{said} {HOW_TO_ACT}", visible=visible, reasoning=reasoning)
    acting, final = _split_final(visible)
    code, problem = find_code(acting)
    if problem is not None:  # an unclosed block: none of the reply runs, the closed blocks before it neither
        return ParsedReply((), problem, None, visible, reasoning)
    if not code:
        if final is not None and final.strip():
            return ParsedReply((), None, final.strip(), visible, reasoning)
        if final is not None:
            return ParsedReply(
                (), f"Your final answer is empty: say what you did and found. {HOW_TO_ACT}", None, visible, reasoning
            )
        problem = _tool_call_problem(acting) or f"Your reply has no code to run and no final answer. {HOW_TO_ACT}"
        return ParsedReply((), problem, None, visible, reasoning)
    return ParsedReply(code, None, final, visible, reasoning)


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, the rest): up to the last closing think tag, or all of it when a think tag never closes."""
    ends = list(_REASONING_END.finditer(text))
    if ends:
        last = ends[-1]
        thought = re.sub(r"<think(?:ing)?>", "", text[: last.start()], flags=re.IGNORECASE).strip()
        return thought, text[last.end() :].lstrip("\n")
    if _REASONING_START.match(text):
        return _REASONING_START.sub("", text).strip(), ""
    return "", text


def _split_final(text: str) -> tuple[str, str | None]:
    """(the part that may hold code, the final answer if the reply gives one). Code quoted in an answer never runs."""
    tagged = _FINAL_TAG.search(text)
    if tagged:
        return text[: tagged.start()] + text[tagged.end() :], tagged.group(1)
    line = _FINAL_LINE.search(text)
    if line:
        return text[: line.start()], text[line.end() :]
    return text, None


def find_code(text: str) -> tuple[tuple[str, ...], str | None]:
    """The reply's code blocks, dedented, in order; and a problem when a block is opened and never closed."""
    blocks = tuple(_tidy(block) for block in _EXECUTE.findall(text))
    rest = _EXECUTE.sub("", text)
    if "<execute>" in rest:
        return blocks, f"Your reply opens an <execute> block that is never closed with </execute>. {RESEND}"
    if blocks:
        return tuple(block for block in blocks if block), None
    return _fenced_blocks(text)


def _fenced_blocks(text: str) -> tuple[tuple[str, ...], str | None]:
    """Fenced code, read line by line the way Markdown does: a closing fence matches its opener's character."""
    lines = text.split("\n")
    blocks: list[str] = []
    position = 0
    while position < len(lines):
        opener = _FENCE.match(lines[position])
        if opener is None:
            position += 1
            continue
        fence, info = opener.group("fence"), opener.group("info").strip()
        language = info.split()[0].lower() if info else ""
        end = _closing_line(lines, position + 1, fence)
        if end is None:
            if language in PYTHON_TAGS or not language:
                return tuple(
                    blocks
                ), f"Your reply opens a {fence}{info} block that is never closed with {fence}. {RESEND}"
            return tuple(blocks), None
        body = _tidy("\n".join(_unindent(line, opener.group("indent")) for line in lines[position + 1 : end]))
        if body and (language in PYTHON_TAGS or (not language and _is_python(body))):
            blocks.append(body)
        position = end + 1
    return tuple(blocks), None


def _closing_line(lines: list[str], start: int, fence: str) -> int | None:
    for number in range(start, len(lines)):
        stripped = lines[number].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return number
    return None


def _unindent(line: str, indent: str) -> str:
    """Remove the opener's indentation (a block inside a numbered list) where the line has it."""
    return line[len(indent) :] if line.startswith(indent) else line.lstrip(" \t")


def _tidy(block: str) -> str:
    return textwrap.dedent(block).strip("\n")


def _is_python(code: str) -> bool:
    """An untagged block counts as code only when it compiles: quoted output or prose stays text."""
    try:
        compile(code, "<reply>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _tool_call_problem(text: str) -> str | None:
    called = _TOOL_CALL.findall(text)
    if not called:
        return None
    names = ", ".join(sorted(set(called)))
    return (
        f"You called a tool ({names}), but this crew acts through code only: there are no tools to call. {HOW_TO_ACT}"
    )
