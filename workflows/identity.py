"""Who a person is, for every comparison the gate makes.

Names are compared by one key: Unicode NFKC, trimmed, case-folded, so `alice`,
` Alice ` and `ＡＬＩＣＥ` are one reviewer (and one requester). A name that is
empty, only whitespace, or holds control or invisible characters is refused
rather than guessed at. Decisions store the key, so the one-decision-per-reviewer
constraint holds for every spelling.
"""

import unicodedata

from .errors import IdentityError
from .visible import visible


def fold(name: str) -> str:
    """The comparison key of a name, without checking it (for names stored before keys existed)."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def person_key(name: str, role: str = "reviewer") -> str:
    """The key of a name given by a person, or IdentityError saying what is wrong with it."""
    key = fold(name)
    if not key:
        raise IdentityError(f"the {role} name {name!r} is empty or only whitespace: give a name")
    if visible(key, multiline=False).flagged:  # every Cc, Cf, Zl, Zp character, a blank filler, a newline
        shown = visible(name, multiline=False).text
        raise IdentityError(f"the {role} name '{shown}' holds control or invisible characters: give a plain name")
    return key
