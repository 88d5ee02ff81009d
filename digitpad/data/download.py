"""Download MNIST from the public mirrors that other MNIST tools use.

Each of the four files is fetched into ``<dest>/.partial/<name>``, checked
against the MD5 of its *uncompressed* content (mirrors and copies differ in
their gzip settings, so the compressed bytes cannot be checked), and only
then renamed into ``dest``: a file in ``dest`` is always complete and
verified. An interrupted download (crash, lost connection, cancel) leaves
only the partial file, which the next call resumes with an HTTP range
request where the server allows it, or discards.

urllib only: no dependency beyond the standard library.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

from digitpad import __version__
from digitpad.data.mnist import MNIST_MD5, default_data_dir

#: Tried in this order, as torchvision does: its S3 copy first, because the
#: original site has often been unreachable or refused scripted downloads.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Name on the mirrors -> MD5 of the uncompressed content (the values MNIST publishes).
EXPECTED_MD5: dict[str, str] = {f"{stem}.gz": md5 for stem, md5 in MNIST_MD5.items()}

#: Sub-folder of ``dest`` for files still being downloaded.
PARTIAL_DIR = ".partial"

_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"

ProgressCallback = Callable[[str, int, int | None], None]


class DownloadError(Exception):
    """The download failed; the message (one line) says which file and why."""


class DownloadCancelled(DownloadError):
    """``should_stop`` asked to stop; completed files are kept, the current one stays partial."""


class _BadContent(Exception):
    """A fetched file is complete but not MNIST's (checksum): worthless, unlike an interrupted one."""


def content_md5(path: Path) -> str | None:
    """MD5 of the file's content, gunzipped if it is gzipped; None if it cannot be read or decompressed."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return digest.hexdigest()


def _present_copy(dest: Path, name: str, md5: str) -> Path | None:
    """A valid copy of ``name`` already in ``dest``: the gzipped file, or the raw one."""
    for candidate in (dest / name, dest / name.removesuffix(".gz")):
        if candidate.is_file() and content_md5(candidate) == md5:
            return candidate
    return None


def _reason(error: BaseException) -> str:
    """A short, one-line description of a network or file error."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, BaseException):
            return _reason(reason)
        return str(reason)
    if isinstance(error, TimeoutError):  # socket.timeout is an alias of it
        return "timed out"
    if isinstance(error, http.client.IncompleteRead):
        return f"connection closed after {len(error.partial)} more bytes, {error.expected} were still due"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error) or type(error).__name__
    return " ".join(text.split())


def _fetch(
    url: str,
    partial: Path,
    name: str,
    timeout: float,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Download ``url`` into ``partial``, resuming what is already there if the server allows."""
    offset = partial.stat().st_size if partial.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": f"digitpad/{__version__}"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code != 416 or not offset:
            raise
        # 416: the range starts at or past the end, i.e. the partial file is
        # complete already (or longer than the file: verification decides).
        error.close()
        return
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        resumed = offset > 0 and getattr(response, "status", None) == 206 and _range_start(response) == offset
        if not resumed:
            offset = 0  # the server sent the whole file (no range support, or a file:// URL)
        total = offset + length if length is not None else None
        done = offset
        with open(partial, "ab" if resumed else "wb") as out:
            while True:  # progress before the first chunk and after each
                if progress is not None:
                    progress(name, done, total)
                if should_stop is not None and should_stop():
                    raise DownloadCancelled(f"download of {name} cancelled")
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
            out.flush()
            os.fsync(out.fileno())
    if total is not None and done < total:
        # Not bad content, just less of it: kept as a partial file to resume.
        raise ConnectionError(f"connection closed after {done} of {total} bytes")


def _range_start(response) -> int | None:
    """The first byte of a 206 response, from ``Content-Range: bytes START-END/SIZE``."""
    value = response.headers.get("Content-Range", "")
    unit, _, spec = value.partition(" ")
    start = spec.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def _download_file(
    name: str,
    md5: str,
    dest: Path,
    mirrors: tuple[str, ...],
    timeout: float,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
) -> Path:
    partial = dest / PARTIAL_DIR / name
    final = dest / name
    reasons = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        # Twice per mirror at most: if a resumed file fails the check, the
        # partial may have come from another mirror's differently compressed
        # copy, so start over from scratch once.
        for _attempt in range(2):
            resuming = partial.is_file() and partial.stat().st_size > 0
            try:
                _fetch(url, partial, name, timeout, progress, should_stop)
                if content_md5(partial) != md5:
                    raise _BadContent("checksum mismatch (content MD5 is not MNIST's)")
            except DownloadCancelled:
                raise
            except _BadContent as error:
                partial.unlink(missing_ok=True)
                if resuming:
                    continue
                reasons.append(f"{url}: {error}")
                break
            except (OSError, http.client.HTTPException, ValueError) as error:
                # Network trouble: keep the partial file, the next try resumes it.
                # (ValueError: urllib's "unknown url type" for a bad mirror string.)
                reasons.append(f"{url}: {_reason(error)}")
                break
            os.replace(partial, final)
            return final
    raise DownloadError(f"could not download {name} from any mirror: {'; '.join(reasons) or 'no mirrors given'}")


def download_mnist(
    dest: str | os.PathLike | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    mirrors: Iterable[str] | None = None,
    timeout: float = 30,
) -> Path:
    """Download the four MNIST files into ``dest`` and return the folder.

    ``dest``: default :func:`digitpad.data.mnist.default_data_dir` (under the
    per-user folder). Files already there and valid are not fetched again.
    ``progress(file_name, done_bytes, total_bytes_or_None)`` is called for
    every chunk. ``should_stop()`` is polled for every chunk; when it returns
    True, :class:`DownloadCancelled` is raised. ``mirrors``: base URLs to try
    in order (default :data:`MIRRORS`). ``timeout``: seconds without data
    before a mirror counts as unreachable.

    Raises :class:`DownloadError` with a one-line message naming the file.
    """
    folder = Path(dest).expanduser() if dest is not None else default_data_dir()
    mirror_list = tuple(mirrors) if mirrors is not None else MIRRORS
    try:
        (folder / PARTIAL_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"{folder}: cannot create the folder: {_reason(error)}") from error
    try:
        for name, md5 in EXPECTED_MD5.items():
            if should_stop is not None and should_stop():
                raise DownloadCancelled(f"download of {name} cancelled")
            present = _present_copy(folder, name, md5)
            if present is not None:
                if progress is not None:
                    size = present.stat().st_size
                    progress(name, size, size)
                continue
            try:
                _download_file(name, md5, folder, mirror_list, timeout, progress, should_stop)
            except OSError as error:  # writing the file, not the network
                raise DownloadError(f"could not save {name} in {folder}: {_reason(error)}") from error
    finally:
        # Only if empty: a partial file is kept for the next call to resume.
        with contextlib.suppress(OSError):
            (folder / PARTIAL_DIR).rmdir()
    return folder
