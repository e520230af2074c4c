"""Archives crossing the boundary: hostile members are refused, links never followed out."""

import io
import os
import tarfile
from pathlib import Path

import pytest

from executors import LocalSandbox, WorkspaceError
from executors._tarsafe import check_archive, pack_directory, relative_path


def archive_with(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    ("info", "complaint"),
    [
        (member("../escape.txt"), "unsafe member"),
        (member("/etc/cron.d/evil"), "unsafe member"),
        (member("a/../../escape.txt"), "unsafe member"),
        (member("link", tarfile.SYMTYPE, "/etc/passwd"), "resolves outside"),
        (member("dir/link", tarfile.SYMTYPE, "../../outside"), "resolves outside"),
        (member("dev", tarfile.CHRTYPE), "special file"),
        (member("pipe", tarfile.FIFOTYPE), "special file"),
        (member("hard", tarfile.LNKTYPE, "/etc/shadow"), "special file"),
    ],
)
def test_hostile_archives_are_refused(info: tarfile.TarInfo, complaint: str) -> None:
    with pytest.raises(WorkspaceError, match=complaint):
        check_archive(archive_with((info, b"")), limit=1 << 20)


def test_oversized_archives_are_refused() -> None:
    big = archive_with((member("big.bin"), b"x" * 5000))
    with pytest.raises(WorkspaceError, match="limit"):
        check_archive(big, limit=4096)


def test_restore_refuses_a_hostile_archive_before_sending_it(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    hostile = archive_with((member(f"../../../../../../..{target}"), b"owned"))
    with LocalSandbox() as box, pytest.raises(WorkspaceError):
        box.restore(hostile)
    assert not target.exists()


def test_relative_paths() -> None:
    assert relative_path("/workspace/a/b.txt") == "a/b.txt"
    assert relative_path("./a//b.txt") == "a/b.txt"
    for bad in ("/etc/passwd", "..", "../x", "a/../../x", "", "."):
        with pytest.raises(WorkspaceError):
            relative_path(bad)


def test_directory_copy_keeps_inner_links_and_drops_links_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "real.py").write_text("X = 1\n")
    os.symlink("real.py", repo / "pkg" / "alias.py")
    os.symlink("/etc/passwd", repo / "passwd")
    os.symlink("../../outside", repo / "pkg" / "up")
    with tarfile.open(fileobj=io.BytesIO(pack_directory(repo, "", 1 << 20))) as tar:
        names = set(tar.getnames())
    assert names == {"pkg", "pkg/real.py", "pkg/alias.py"}
    with LocalSandbox() as box:
        box.put_directory(repo)
        assert box.read_file("pkg/alias.py") == b"X = 1\n"


def test_directory_copy_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * 10_000)
    with pytest.raises(WorkspaceError, match="transfer limit"):
        pack_directory(tmp_path, "", 5_000)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize(("folders", "files_each"), [(1500, 1), (10000, 10)])
def test_thousands_of_sibling_folders_snapshot_within_the_descriptor_limit(folders: int, files_each: int) -> None:
    """The walk holds one descriptor per level, not per folder: the sandbox allows 1,024 open files."""
    from executors import DockerSandbox, SandboxLimits

    with DockerSandbox(limits=SandboxLimits(timeout_s=120)) as box:
        made = box.execute(
            "import os\n"
            f"for n in range({folders}):\n"
            "    os.makedirs(f'many/d{n:05}')\n"
            f"    for k in range({files_each}):\n"
            "        open(f'many/d{n:05}/f{k}', 'w').write('x')\n"
        )
        assert made.ok, made.traceback
        archive = box.snapshot()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = tar.getnames()
    assert sum(name.startswith("many/d") and "/f" in name for name in names) == folders * files_each
    assert sum(name.count("/") == 1 and name.startswith("many/d") for name in names) == folders


@pytest.mark.docker
def test_a_sparse_gigabyte_is_refused_at_once_by_name_without_being_read() -> None:
    import time

    from executors import DockerSandbox

    with DockerSandbox() as box:
        made = box.execute(
            "import os\nos.makedirs('data')\nf = open('data/big.bin', 'wb')\nf.truncate(1 << 30)\nf.close()"
        )
        assert made.ok, made.traceback
        began = time.monotonic()
        with pytest.raises(WorkspaceError, match=r"data/big\.bin is 1073741824 bytes: the workspace snapshot limit"):
            box.snapshot()
        assert time.monotonic() - began < 5
        after = box.execute("'still here'")  # no OOM: the same session answers
        assert after.value == "'still here'" and not after.kernel_restarted and box.replacements == 0


@pytest.mark.docker
def test_many_small_files_over_the_archive_bound_are_refused_by_the_packer_naming_why() -> None:
    from executors import DockerSandbox, SandboxLimits

    with DockerSandbox(limits=SandboxLimits(transfer_bytes=1 << 20)) as box:
        made = box.execute(
            "import os\nos.makedirs('small')\nfor n in range(3000):\n    open(f'small/{n}', 'w').write('x' * 200)"
        )
        assert made.ok, made.traceback  # 600 KB of contents, under the limit; 3 MB of archive, over twice it
        with pytest.raises(WorkspaceError, match="too many small files"):
            box.snapshot()
