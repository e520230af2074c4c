"""The archives that cross the sandbox boundary: every link shape refused, every size bound held.

Fast and in process: `make mutation` runs mutmut on executors/_tarsafe.py against these.
"""

import io
import os
import tarfile
from pathlib import Path

import pytest

from executors import WorkspaceError
from executors._tarsafe import (
    MAX_LINK_HOPS,
    check_archive,
    pack_directory,
    pack_files,
    relative_path,
    resolve_link,
    tree_problem,
)


def archive(*members: tuple[str, str | bytes | None]) -> bytes:
    """name -> bytes (a file), str (a symlink's target) or None (a folder)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("given", "safe"),
    [("x", "x"), ("./x", "x"), ("a/b", "a/b"), ("a//b", "a/b"), ("a/./b", "a/b"), ("a/../b", "b"),
     ("/workspace/x", "x"), ("/workspace/a/../b", "b"), ("x/", "x")],
)  # fmt: skip
def test_relative_paths_inside_the_workspace(given: str, safe: str) -> None:
    assert relative_path(given) == safe


@pytest.mark.parametrize(
    "given", ["..", "../x", "a/../../x", "/etc/passwd", "/workspace/../x", "/workspace", ".", "a\x00b", "", "./"]
)
def test_paths_out_of_the_workspace_are_refused(given: str) -> None:
    with pytest.raises(WorkspaceError, match="refusing path"):
        relative_path(given)


@pytest.mark.parametrize(
    ("links", "name", "where"),
    [
        ({"l": "target"}, "l", "target"),
        ({"d/l": "../x"}, "d/l", "x"),
        ({"d/l": "./x"}, "d/l", "d/x"),
        ({"d/l": "x//y"}, "d/l", "d/x/y"),
        ({"a": "b", "b": "c"}, "a", "c"),
        ({"d/l": "e/../f"}, "d/l", "d/f"),
    ],
)
def test_links_that_stay_inside_resolve(links: dict[str, str], name: str, where: str) -> None:
    assert resolve_link(links, name) == where


@pytest.mark.parametrize(
    ("links", "name"),
    [
        ({"l": "/etc/passwd"}, "l"),
        ({"l": ".."}, "l"),
        ({"l": "../x"}, "l"),
        ({"l": "./../x"}, "l"),
        ({"d/l": "../../x"}, "d/l"),
        ({"l": "a//../../x"}, "l"),
        ({"l": "a/./../../x"}, "l"),
        ({"a/l": "a//../../../x"}, "a/l"),
        ({"a/l": "b/../../../x"}, "a/l"),
        ({"a/up": "..", "leak": "a/up/a/up/../../etc/passwd"}, "leak"),  # through another link's ..
        ({"l": "m", "m": "/etc"}, "l"),  # a chain ending outside
        ({"l": "m", "m": "l"}, "l"),  # a loop
    ],
)
def test_links_that_leave_the_workspace_or_loop_do_not_resolve(links: dict[str, str], name: str) -> None:
    assert resolve_link(links, name) is None


def test_a_chain_of_exactly_the_most_hops_resolves_and_one_more_does_not() -> None:
    chain = {f"l{n}": f"l{n + 1}" for n in range(MAX_LINK_HOPS + 1)}  # l0 is read; l1 .. l40 are hops
    assert resolve_link(chain, "l0") == f"l{MAX_LINK_HOPS + 1}"
    longer = {f"l{n}": f"l{n + 1}" for n in range(MAX_LINK_HOPS + 2)}
    assert resolve_link(longer, "l0") is None


@pytest.mark.parametrize(
    ("tree", "problem"),
    [
        ({"top": "elsewhere", "top/file": None}, "'top/file' lies below the symlink 'top'"),
        ({"a": None, "a/l": "x", "a/l/f": None}, "'a/l/f' lies below the symlink 'a/l'"),
        ({"a/b/c/d": None, "a/b": "x"}, "'a/b/c/d' lies below the symlink 'a/b'"),
        ({"l": "/abs"}, "the symlink 'l' -> '/abs' resolves outside the workspace"),
        ({"a/up": "..", "leak": "a/up/a/up/../../x"}, "the symlink 'leak'"),
    ],
)
def test_trees_that_could_write_outside_are_refused(tree: dict[str, str | None], problem: str) -> None:
    found = tree_problem(tree)
    assert found is not None and problem in found


def test_a_tree_of_inner_links_is_fine() -> None:
    assert tree_problem({"a": None, "a/f": None, "l": "a/f", "a/back": "../l"}) is None
    assert tree_problem({}) is None


@pytest.mark.parametrize(
    ("members", "complaint"),
    [
        ((("../x", b"x"),), "unsafe member"),
        ((("/abs", b"x"),), "unsafe member"),
        ((("a/../../x", b"x"),), "unsafe member"),
        ((("ok", b"x"), ("ok", b"y")), "twice"),
        ((("./ok", b"x"), ("ok", b"y")), "twice"),
        ((("l", "elsewhere"), ("l/x", b"y")), "lies below the symlink"),
        ((("l", "../out"),), "resolves outside"),
        ((("a/up", ".."), ("leak", "a/up/a/up/../../x")), "resolves outside"),
    ],
)
def test_hostile_archives_are_refused(members: tuple[tuple[str, str | bytes | None], ...], complaint: str) -> None:
    with pytest.raises(WorkspaceError, match=complaint):
        check_archive(archive(*members), 1 << 20)


def test_special_files_are_refused() -> None:
    for kind in (tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.LNKTYPE):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("odd")
            info.type = kind
            tar.addfile(info)
        with pytest.raises(WorkspaceError, match="special file"):
            check_archive(buffer.getvalue(), 1 << 20)


def test_sizes_are_bounded_across_the_whole_archive() -> None:
    ten = [(f"f{n}", b"x" * 100) for n in range(10)]
    assert len(check_archive(archive(*ten), 1000)) == 10  # exactly the limit is fine
    with pytest.raises(WorkspaceError, match="more than the 999-byte limit"):
        check_archive(archive(*ten), 999)  # each member is small; together they are one byte over
    with pytest.raises(WorkspaceError, match="over the 10-byte limit"):
        check_archive(b"\0" * (10 * 2 + 65536 + 1), 10)
    assert check_archive(b"\0" * 1024, 10) == []  # an empty tar (its end blocks only)
    with pytest.raises(WorkspaceError, match="unreadable archive"):
        check_archive(b"not a tar at all" * 64, 1 << 20)


def test_a_good_archive_lists_its_members() -> None:
    names = check_archive(archive(("d", None), ("d/f", b"x"), ("l", "d/f")), 1 << 20)
    assert names == ["d", "d/f", "l"]


def test_pack_files_makes_plain_files_with_safe_names() -> None:
    data = pack_files({"a.txt": "one", "./d/b.bin": b"\x00\x01"})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"a.txt", "d/b.bin"}
        assert members["a.txt"].mode == 0o644 and members["a.txt"].size == 3
        source = tar.extractfile(members["d/b.bin"])
        assert source is not None and source.read() == b"\x00\x01"
    with pytest.raises(WorkspaceError):
        pack_files({"../x": "no"})


def test_pack_directory_keeps_inner_links_drops_outer_ones_and_is_bounded(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f.txt").write_text("12345")
    (root / "top.txt").write_text("abc")
    os.symlink("d/f.txt", root / "inner")
    os.symlink("../../outside", root / "d" / "outer")
    os.symlink("/etc/passwd", root / "absolute")
    data = pack_directory(root, "", 8)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"d", "d/f.txt", "top.txt", "inner"}
    assert members["inner"].issym() and members["inner"].linkname == "d/f.txt"
    assert members["d/f.txt"].uid == 0 and members["d/f.txt"].uname == ""
    placed = pack_directory(root, "sub/dir", 8)
    with tarfile.open(fileobj=io.BytesIO(placed)) as tar:
        assert "sub/dir/d/f.txt" in tar.getnames()
    with pytest.raises(WorkspaceError, match="larger than the 7-byte transfer limit"):
        pack_directory(root, "", 7)
    with pytest.raises(WorkspaceError, match="is not a folder"):
        pack_directory(root / "top.txt", "", 8)


def test_pack_directory_skips_special_files_and_keeps_what_follows_them(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "d").mkdir(parents=True)
    os.mkfifo(root / "a-pipe")
    (root / "b.txt").write_text("after the pipe")
    (root / "top.txt").write_text("t")
    os.symlink("../top.txt", root / "d" / "up")  # a link in a folder, resolved from that folder: inside
    os.symlink("..", root / "escape")  # the root's parent: outside
    with tarfile.open(fileobj=io.BytesIO(pack_directory(root, "", 1 << 20))) as tar:
        names = set(tar.getnames())
    assert names == {"b.txt", "d", "d/up", "top.txt"}


def test_an_archive_exactly_at_the_byte_bound_is_read_and_one_byte_more_is_not() -> None:
    limit = 200_000
    assert check_archive(b"\0" * (limit * 2 + 65536), limit) == []  # zero blocks: an empty archive
    assert check_archive(b"\0" * 300_000, limit) == []  # over half the bound is still fine
    with pytest.raises(WorkspaceError, match="over the 200000-byte limit"):
        check_archive(b"\0" * (limit * 2 + 65537), limit)


@pytest.mark.parametrize(
    ("links", "where"),
    [
        ({"l": "d/x", "d": "real"}, "real/x"),  # what follows a link in the path is kept
        ({"l": "d/x", "d": "a/../b"}, "b/x"),  # the link's own target is split into its parts
        ({"l": "d/x", "d": "a/b"}, "a/b/x"),
    ],
)
def test_a_link_inside_a_path_is_followed_and_the_rest_of_the_path_kept(links: dict[str, str], where: str) -> None:
    assert resolve_link(links, "l") == where
