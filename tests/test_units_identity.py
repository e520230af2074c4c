"""Who a person is, for every comparison the gate makes: every folding rule, and the names refused.

Fast and in process: `make mutation` runs mutmut on workflows/identity.py against these.
"""

import pytest

from workflows.errors import IdentityError
from workflows.identity import fold, person_key
from workflows.visible import visible


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["alice", "Alice", "ALICE", " alice ", "\talice\n", "ＡＬＩＣＥ", "ａｌｉｃｅ"], "alice"),
        (["Straße", "STRASSE", "strasse", "STRAẞE"], "strasse"),  # casefold, not lower: ß is ss
        (["ﬁona", "FIONA", "fiona"], "fiona"),  # NFKC: the fi ligature is f + i
        (["Σίσυφος", "ΣΊΣΥΦΟΣ"], "σίσυφοσ"),  # final sigma folds like any sigma
        (["e\u0301mile", "\u00e9mile", "\u00c9MILE"], "\u00e9mile"),  # composed and decomposed are one name
    ],
)
def test_every_spelling_of_a_name_is_one_person(spellings: list[str], key: str) -> None:
    assert {fold(name) for name in spellings} == {key}
    assert {person_key(name) for name in spellings} == {key}


def test_different_names_stay_different() -> None:
    assert person_key("alice") != person_key("alicia") and person_key("bob") != person_key("b0b")


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "\u3000"])
def test_an_empty_name_is_refused_naming_the_role(name: str) -> None:
    with pytest.raises(IdentityError, match="the requester name .* is empty or only whitespace: give a name"):
        person_key(name, "requester")


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler alone
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "\u2800\u2800",  # braille blanks
        "\u200b",  # zero-width space
        "\ufe0f",  # a variation selector alone
        "alice\ufe0f",  # looks exactly like alice
        "\u3164alice",
        "al\u200bice",
        "ali\u202ece",  # bidi control
        "ali\x1bce",  # terminal escape
        "ali\x07ce",  # bell
        "ali\u2028ce",  # line separator
        "ali\ufeffce",
        "ali\U000e0041ce",  # tag character
        "ali\u00adce",  # soft hyphen
        "alice\x00",
        "ali\nce",  # a name is one line
        "ali\tce",
    ],
)
def test_a_name_with_invisible_or_control_characters_is_refused(name: str) -> None:
    with pytest.raises(IdentityError, match="holds control or invisible characters: give a plain name") as refused:
        person_key(name)
    assert "the reviewer name" in str(refused.value)
    message = str(refused.value)
    assert f"'{visible(name, multiline=False).text}'" in message  # the name as typed, escaped
    assert "\x1b" not in message and "\u202e" not in message and "\n" not in message  # the message is safe to print


def test_fold_trims_after_normalising() -> None:
    assert fold("\u00a0alice\u00a0") == "alice"  # NFKC turns the no-break space into a space, then it is trimmed
    assert fold(" Alice ") == "alice" and fold("Alice") == "alice"
