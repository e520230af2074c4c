"""Syntax colours for diff lines: one compiled regular expression per language family.

A diff line is coloured on its own (a diff shows pieces of files, so a lexer has
no whole file to follow): comments, strings, numbers, keywords and the names
that `def`/`class`/`function`/`fn`/`func` introduce. Text that spans lines (a
docstring, a block comment) is coloured only where its markers are. This is
about thirty times faster than Pygments' lexers line by line, which kept a
2,000-line item page over its 300 ms budget.
"""

import functools
import re
from pathlib import PurePosixPath

KEYWORDS = {
    "python": "False None True and as assert async await break class continue def del elif else except finally for "
    "from global if import in is lambda nonlocal not or pass raise return try while with yield match case self",
    "c": "abstract async await break case catch char class const continue default defer delete do double else enum "
    "export extends false final finally float fn for func function go if impl implements import in instanceof int "
    "interface let long loop match mod mut namespace new nil null package private protected pub public return self "
    "short static struct super switch this throw throws trait true try type typeof unsafe use var void where while "
    "yield",
    "shell": "case do done elif else esac export fi for function if in local return then until while",
    "data": "true false null yes no on off",
}
FAMILY = {
    **dict.fromkeys((".py", ".pyi", ".pyw"), "python"),
    **dict.fromkeys(
        (".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".go", ".java", ".js", ".jsx", ".kt", ".mjs", ".rs", ".scala")
        + (".swift", ".ts", ".tsx"),
        "c",
    ),
    **dict.fromkeys((".sh", ".bash", ".zsh", ".ksh"), "shell"),
    **dict.fromkeys((".yaml", ".yml", ".toml", ".ini", ".cfg", ".json"), "data"),
}
COMMENT = {"python": "#", "shell": "#", "data": "#", "c": "//"}
NAMED_BY = r"(?<=\bdef )|(?<=\bclass )|(?<=\bfunction )|(?<=\bfn )|(?<=\bfunc )|(?<=\bstruct )"
CLASSES = {"comment": "t-c", "string": "t-s", "number": "t-m", "keyword": "t-k", "name": "t-nf"}


def family_of(path: str) -> str | None:
    """The language family of a file name, or None to show its lines uncoloured."""
    name = PurePosixPath(path)
    if name.name in ("Makefile", "Dockerfile"):
        return "shell"
    return FAMILY.get(name.suffix.lower())


@functools.cache
def _pattern(family: str) -> re.Pattern[str]:
    words = "|".join(sorted(KEYWORDS[family].split(), key=len, reverse=True))
    return re.compile(
        rf"(?P<comment>{re.escape(COMMENT[family])}.*$)"
        r"|(?P<string>\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?|`(?:[^`\\]|\\.)*`?)"
        r"|(?P<number>\b\d[\w.]*)"
        rf"|(?P<keyword>\b(?:{words})\b)"
        rf"|(?P<name>(?:{NAMED_BY})[A-Za-z_]\w*)"
    )


def coloured(text: str, family: str | None) -> tuple[tuple[str, str], ...]:
    """`text` split into (css class, text) pieces; "" is uncoloured."""
    if family is None or not text:
        return (("", text),)
    pieces: list[tuple[str, str]] = []
    at = 0
    for match in _pattern(family).finditer(text):
        if match.start() > at:
            pieces.append(("", text[at : match.start()]))
        pieces.append((CLASSES[str(match.lastgroup)], match.group()))
        at = match.end()
    if at < len(text):
        pieces.append(("", text[at:]))
    return tuple(pieces)
