"""The one reader of users' files (digitpad.base.files): regular files only, bounded, and each refusal named."""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path

import pytest

from digitpad.base import files
from digitpad.base.files import FileReadError, check_regular_file, read_regular_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, sockets and symlinks as POSIX has them")


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return path


def make_loop(path: Path) -> Path:
    other = path.with_name(f"{path.name}.other")
    path.symlink_to(other)
    other.symlink_to(path)
    return path


def make_dangling(path: Path) -> Path:
    path.symlink_to(path.with_name("gone.json"))
    return path


@posix_only
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda path: path, "a.json: no such file"),
        (lambda path: path.mkdir() or path, "a.json: is a folder, not a drawing"),
        (make_fifo, "a.json: is a pipe (FIFO), not a drawing"),
        (lambda path: Path("/dev/null"), "/dev/null: is a device, not a drawing"),
        (make_socket, "a.json: is a socket, not a drawing"),
        (make_loop, "a.json: a symlink loop"),
        (make_dangling, "a.json: no such file (a symlink to "),
    ],
    ids=["missing", "folder", "fifo", "device", "socket", "loop", "dangling"],
)
def test_each_thing_that_is_not_a_regular_file_is_named(tmp_path: Path, make, fragment: str) -> None:
    path = make(tmp_path / "a.json")
    for check in (lambda: read_regular_file(path, 100, "a drawing"), lambda: check_regular_file(path, "a drawing")):
        with pytest.raises(FileReadError) as caught:
            check()
        assert fragment in str(caught.value) and "\n" not in str(caught.value)
    if make is make_dangling:
        assert "gone.json, which does not exist" in str(caught.value)


def test_a_regular_file_is_read_whole_up_to_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"0123456789")
    assert read_regular_file(path, 10, "a drawing") == b"0123456789"
    assert check_regular_file(str(path), "a drawing") == path
    with pytest.raises(FileReadError, match=r"a.json: too large for a drawing \(10 bytes; at most 9 bytes\)"):
        read_regular_file(path, 9, "a drawing")


def test_the_start_is_checked_before_the_size(tmp_path: Path) -> None:
    """A format refused by its first bytes is called that, however large the file."""
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    seen: list[bytes] = []

    def refuse(start: bytes) -> None:
        seen.append(start)
        raise ValueError("a zip")

    with pytest.raises(ValueError, match="a zip"):
        read_regular_file(path, 10, "a checkpoint", refuse)
    assert seen == [b"PK\x03\x04" + bytes(4)]


def test_a_file_it_may_not_read_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod does not stop root (the tests may run as root), so the refusal is simulated where it happens.
    path = tmp_path / "a.json"
    path.write_text("{}")

    def denied(name, flags, *args):
        raise PermissionError(errno.EACCES, "Permission denied", str(name))

    monkeypatch.setattr(files.os, "open", denied)
    with pytest.raises(FileReadError, match="a.json: cannot read: Permission denied"):
        read_regular_file(path, 100, "a drawing")


def test_a_nul_in_the_name_is_refused_in_one_line() -> None:
    with pytest.raises(FileReadError, match="cannot read: embedded null byte"):
        read_regular_file("a\0.json", 100, "a drawing")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked with stat first: opening a FIFO nobody writes to would wait for ever."""
    fifo = make_fifo(tmp_path / "pipe.json")
    opened: list[str] = []
    real_open = os.open

    def watched(name, flags, *args, **kwargs):
        if Path(name) == fifo:  # refuse instead of blocking, so a regression fails rather than hangs
            opened.append(str(name))
            raise AssertionError("the FIFO was opened")
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", watched)
    for check in (lambda: read_regular_file(fifo, 100, "a drawing"), lambda: check_regular_file(fifo, "a drawing")):
        with pytest.raises(FileReadError, match="FIFO"):
            check()
    assert opened == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_swapped_in_after_the_stat_is_opened_without_waiting_and_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = make_fifo(tmp_path / "pipe.json")
    regular = tmp_path / "regular.json"
    regular.write_text("{}")
    real_stat = os.stat
    # The stat sees a regular file, as if the FIFO replaced it just after.
    monkeypatch.setattr(files.os, "stat", lambda name, *a, **k: real_stat(regular if Path(name) == fifo else name))
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_regular_file(fifo, 100, "a drawing")
        except BaseException as error:  # handed to the test's thread
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(2)
    if thread.is_alive():  # blocked opening the FIFO: give it a writer and an end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("opening a FIFO blocked")
    assert isinstance(outcome[0], FileReadError) and "is a pipe (FIFO)" in str(outcome[0])
