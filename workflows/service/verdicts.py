"""A step's verdict line: the one line of its output a reviewer reads first.

A step summary used to show an output's last line, which hides a security
reviewer's verdict when the reasons come after it ("approve" then two paragraphs
why). The verdict line is, in this order: the first line under a "Verdict"
heading, a line starting "verdict:", a first line whose first word is a verdict
word (approve, reject, pass, fail, ...), else the last line.
"""

import re

from ..visible import display_lines

HEADING = re.compile(r"^\s*#+\s*verdict\b", re.IGNORECASE)
LABELLED = re.compile(r"^\s*[*_]*verdict[*_]*\s*:", re.IGNORECASE)
WORDS = frozenset(
    {"approve", "approved", "reject", "rejected", "block", "blocked", "pass", "passed", "fail", "failed", "lgtm"}
)


def verdict_line(output: str) -> str:
    """The line of `output` that says what its step concluded ("" for an empty output)."""
    lines = [line.strip() for line in display_lines(output.strip())]
    filled = [line for line in lines if line]
    if not filled:
        return ""
    for number, line in enumerate(lines):
        if HEADING.match(line):
            following = next((later for later in lines[number + 1 :] if later), "")
            if following:
                return following
        if LABELLED.match(line):
            return line
    first_word = re.split(r"[\s:.,;!—-]+", filled[0].lower(), maxsplit=1)[0].strip("*_`")
    return filled[0] if first_word in WORDS else filled[-1]
