"""Git-format diffs in process: path quoting, binary detection, headers, hunks and binary literals.

Fast: `make mutation` runs mutmut on workflows/artifacts/gitdiff.py against these (and test_gitdiff.py,
which applies the diffs with real git).
"""

import base64
import hashlib
import zlib

import pytest

from workflows.artifacts.gitdiff import NULL_ID, Entry, file_diff, is_binary, quote_path


@pytest.mark.parametrize(
    ("path", "quoted"),
    [
        ("plain/name.txt", "plain/name.txt"),
        ("with space.txt", "with space.txt"),
        ("tilde~", "tilde~"),
        ('say "hi".txt', '"say \\"hi\\".txt"'),
        ("back\\slash", '"back\\\\slash"'),
        ("del\x7f", '"del\\177"'),
        ("bell\x07", '"bell\\a"'),
        ("bs\x08", '"bs\\b"'),
        ("tab\t", '"tab\\t"'),
        ("new\nline", '"new\\nline"'),
        ("vt\x0b", '"vt\\v"'),
        ("ff\x0c", '"ff\\f"'),
        ("cr\r", '"cr\\r"'),
        ("esc\x1b", '"esc\\033"'),
        ("unit\x1f", '"unit\\037"'),
        ("caf\u00e9", '"caf\\303\\251"'),
        ("evil\u202e", '"evil\\342\\200\\256"'),
        (b"raw\xff".decode("utf-8", "surrogateescape"), '"raw\\377"'),
        (b"csi\x9b".decode("utf-8", "surrogateescape"), '"csi\\233"'),
    ],
)
def test_paths_are_quoted_like_git(path: str, quoted: str) -> None:
    assert quote_path(path) == quoted


@pytest.mark.parametrize(
    ("data", "binary"),
    [
        (b"", False),
        (b"plain text\n", False),
        ("caf\u00e9 \u4e2d\n".encode(), False),
        (b"nul\x00inside", True),
        (b"\x00", True),
        ("caf\u00e9".encode("latin-1"), True),  # Latin-1 is not UTF-8
        (b"\xff\xfe", True),
        (bytes(range(256)), True),
        (b"\x1b[2J escape but text", False),
    ],
)
def test_binary_means_not_utf8_or_holding_nul(data: bytes, binary: bool) -> None:
    assert is_binary(data) is binary


def test_entries_have_git_modes_and_blob_ids() -> None:
    assert Entry("file", b"").mode == "100644" and Entry("file", b"", executable=True).mode == "100755"
    assert Entry("link", b"target").mode == "120000" and Entry("link", b"target", executable=True).mode == "120000"
    assert Entry("file", b"").blob_id == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob
    assert Entry("file", b"hello\n").blob_id == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_new_file_has_its_mode_index_and_whole_content() -> None:
    entry = Entry("file", b"a\nb\n")
    assert file_diff("x.txt", None, entry) == (
        "diff --git a/x.txt b/x.txt\n"
        "new file mode 100644\n"
        f"index {NULL_ID}..{entry.blob_id}\n"
        "--- /dev/null\n+++ b/x.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"
    )


def test_a_deleted_file_shows_what_goes() -> None:
    entry = Entry("file", b"bye\n", executable=True)
    assert file_diff("x.sh", entry, None) == (
        "diff --git a/x.sh b/x.sh\n"
        "deleted file mode 100755\n"
        f"index {entry.blob_id}..{NULL_ID}\n"
        "--- a/x.sh\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
    )


def test_a_mode_only_change_has_no_hunk_and_a_modified_one_says_its_mode() -> None:
    before, after = Entry("file", b"x\n"), Entry("file", b"x\n", executable=True)
    assert file_diff("t.sh", before, after) == "diff --git a/t.sh b/t.sh\nold mode 100644\nnew mode 100755\n"
    changed = Entry("file", b"y\n")
    text = file_diff("t.txt", before, changed)
    assert f"index {before.blob_id}..{changed.blob_id} 100644\n" in text and "-x\n+y\n" in text
    changed_too = Entry("file", b"y\n", executable=True)
    both = file_diff("t.sh", before, changed_too)
    assert "old mode 100644\nnew mode 100755\n" in both
    assert f"index {before.blob_id}..{changed_too.blob_id}\n--- a/t.sh\n" in both  # no mode on the index line


def test_a_type_change_is_a_deletion_then_an_addition() -> None:
    text = file_diff("p", Entry("file", b"was\n"), Entry("link", b"target"))
    assert text.count("diff --git a/p b/p") == 2
    assert text.index("deleted file mode 100644") < text.index("new file mode 120000")
    assert "+target\n\\ No newline at end of file\n" in text


def test_empty_files_have_headers_only() -> None:
    assert file_diff("e", None, Entry("file", b"")).endswith(f"index {NULL_ID}..{Entry('file', b'').blob_id}\n")
    assert "---" not in file_diff("e", None, Entry("file", b""))


def test_lines_split_on_newline_only_and_a_missing_last_newline_is_marked() -> None:
    before, after = Entry("file", b"a\rb\x0bc\x0c\n"), Entry("file", b"a\rb\x0bc\x0c\nend")
    text = file_diff("s.txt", before, after)
    assert "@@ -1 +1,2 @@\n a\rb\x0bc\x0c\n+end\n\\ No newline at end of file\n" in text
    assert "\u2028" in file_diff("u.txt", None, Entry("file", "x\u2028y\n".encode())).split("@@")[-1]


def test_quoted_names_appear_in_every_header() -> None:
    text = file_diff('q"uote', None, Entry("file", b"x\n"))
    assert text.startswith('diff --git "a/q\\"uote" "b/q\\"uote"\n') and '+++ "b/q\\"uote"\n' in text


def decode_literal(lines: list[str]) -> bytes:
    packed = b""
    for line in lines:
        size = ord(line[0]) - ord("A") + 1 if line[0] <= "Z" else ord(line[0]) - ord("a") + 27
        packed += base64.b85decode(line[1:])[:size]
    return zlib.decompress(packed)


@pytest.mark.parametrize("size", [0, 1, 26, 27, 52, 53, 300, 4000])
def test_binary_literals_carry_the_exact_bytes_in_lines_git_reads(size: int) -> None:
    data = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    data = b"\x00" + data[: max(size - 1, 0)] if size else b"\x00"
    text = file_diff("b.bin", Entry("file", b"\x00old"), Entry("file", data))
    assert "GIT binary patch\n" in text and "---" not in text
    body = text.split("GIT binary patch\n", 1)[1]
    new_block, old_block = body.split("\n\n")[:2]
    new_lines, old_lines = new_block.split("\n"), old_block.split("\n")
    assert new_lines[0] == f"literal {len(data)}" and old_lines[0] == "literal 4"
    assert all(len(line) <= 66 for line in new_lines[1:])
    assert decode_literal(new_lines[1:]) == data and decode_literal(old_lines[1:]) == b"\x00old"


def test_a_text_file_that_becomes_binary_or_back_is_a_binary_patch() -> None:
    assert "GIT binary patch" in file_diff("x", Entry("file", b"text\n"), Entry("file", b"\x00bin"))
    assert "GIT binary patch" in file_diff("x", Entry("file", b"\xff\xfe"), Entry("file", b"text\n"))


def test_a_binary_literal_is_exactly_gits_format() -> None:
    """Pinned bytes: the artifact's sha256 depends on them, so they never change between releases."""
    text = file_diff("b", None, Entry("file", b"\x00\x01\x02"))
    assert text.endswith("GIT binary patch\nliteral 3\nKc-muNWC8#H2LJ>B\n\nliteral 0\nHc-jL100001\n\n"), text


@pytest.mark.parametrize(("last", "mark"), [(1, "A"), (26, "Z"), (27, "a"), (51, "y"), (52, "z")])
def test_each_literal_line_says_its_length_and_is_padded_to_whole_groups(last: int, mark: str) -> None:
    """A line starts with its byte count (A-Z for 1-26, a-z for 27-52), then base85 of whole 4-byte groups."""
    data = next(
        candidate
        for n in range(1, 400)
        if len(zlib.compress(candidate := b"\x00" + hashlib.shake_256(b"%d" % n).digest(n), 9)) % 52 == last % 52
    )
    packed = zlib.compress(data, 9)
    text = file_diff("b", None, Entry("file", data)).split("GIT binary patch\n")[1]
    body = text.split("\n\n")[0].split("\n")[1:]
    assert body[-1][0] == mark
    for line, start in zip(body, range(0, len(packed), 52), strict=True):
        part = packed[start : start + 52]
        assert len(line) - 1 == 5 * ((len(part) + 3) // 4)  # padded to groups of four bytes, as git reads them
