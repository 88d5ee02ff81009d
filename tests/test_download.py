"""The MNIST download against local mirrors: a tiny HTTP server on 127.0.0.1 serving fake MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from digitpad.data import download
from digitpad.data.download import PARTIAL_DIR, DownloadCancelled, DownloadError, download_mnist
from digitpad.data.mnist import MNIST_FILES, default_data_dir, load_mnist

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
#: MNIST's published MD5s, saved before the fixture below swaps in the fakes'.
REAL_MD5 = dict(download.EXPECTED_MD5)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of uint8 data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def make_fake_mnist(seed: int = 0) -> dict[str, bytes]:
    """Gzipped IDX files shaped like MNIST's but small. Train images are random noise,
    so they do not compress: about 160 kB, i.e. several download chunks."""
    rng = np.random.default_rng(seed)
    contents = {
        "train-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (200, 28, 28))),
        "train-labels-idx1-ubyte.gz": idx_bytes(rng.integers(0, 10, 200)),
        "t10k-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (30, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(rng.integers(0, 10, 30)),
    }
    return {name: gzip.compress(data, mtime=0) for name, data in contents.items()}


FAKE = make_fake_mnist()


def uncompressed_md5(gz: bytes) -> str:
    return hashlib.md5(gzip.decompress(gz)).hexdigest()


@pytest.fixture(autouse=True)
def fake_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    """The downloader checks the fake files against their own MD5s, and never uses a proxy for 127.0.0.1."""
    monkeypatch.setattr(download, "EXPECTED_MD5", {name: uncompressed_md5(data) for name, data in FAKE.items()})
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@dataclass
class Mirror:
    """What one fake mirror serves and how it misbehaves."""

    files: dict[str, bytes]
    #: Honour "Range: bytes=N-" requests with 206 responses.
    ranges: bool = True
    #: name -> bytes to send before dropping the connection, for the next request of that file only.
    cut_once: dict[str, int] = field(default_factory=dict)
    #: Seconds to wait before answering (to test timeouts).
    delay: float = 0.0
    #: (file name, Range header or None) of every request, in order.
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def requested(self, name: str) -> int:
        return sum(1 for requested, _ in self.requests if requested == name)


class MirrorHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # the http.server API names it so
        mirror: Mirror = self.server.mirror  # type: ignore[attr-defined]
        name = self.path.rsplit("/", 1)[-1]
        byte_range = self.headers.get("Range")
        mirror.requests.append((name, byte_range))
        if mirror.delay:
            time.sleep(mirror.delay)
        body = mirror.files.get(name)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if byte_range and mirror.ranges:
            start = int(byte_range.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        cut = mirror.cut_once.pop(name, None)
        if cut is not None:
            # Send part of the file, then hang up as a dropped connection would.
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # keep the test output clean
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and left makes the handler's writes fail: expected


@pytest.fixture
def serve():
    """serve(files, **options) starts a mirror on 127.0.0.1 and returns it; all stop after the test."""
    servers: list[QuietServer] = []

    def start(files: dict[str, bytes], **options) -> Mirror:
        mirror = Mirror(dict(files), **options)
        server = QuietServer(("127.0.0.1", 0), MirrorHandler)
        server.mirror = mirror  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        mirror.url = f"http://127.0.0.1:{server.server_address[1]}/mnist/"
        return mirror

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unused_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def assert_complete(folder: Path) -> None:
    for name, data in FAKE.items():
        assert (folder / name).read_bytes() == data
    assert not (folder / PARTIAL_DIR).exists()


def test_default_mirrors_are_torchvisions() -> None:
    assert download.MIRRORS[0].startswith("https://ossci-datasets.s3.amazonaws.com/mnist")
    assert "yann.lecun.com/exdb/mnist" in download.MIRRORS[1]


def test_download_succeeds_reports_progress_and_loads(serve, tmp_path: Path) -> None:
    mirror = serve(FAKE)
    calls: list[tuple[str, int, int | None]] = []
    folder = download_mnist(tmp_path / "mnist", progress=lambda *call: calls.append(call), mirrors=[mirror.url])
    assert folder == tmp_path / "mnist"
    assert_complete(folder)
    data = load_mnist(folder)
    assert data.train_images.shape == (200, 28, 28) and data.test_labels.shape == (30,)

    for name, body in FAKE.items():
        mine = [(done, total) for file, done, total in calls if file == name]
        assert mine[-1] == (len(body), len(body))
        assert all(total == len(body) for _, total in mine)
        done = [d for d, _ in mine]
        assert done == sorted(done) and done[0] == 0
    # The noise file is several chunks long, so it reports more than start and end.
    assert len([c for c in calls if c[0] == TRAIN_IMAGES]) >= 3


def test_default_destination_is_the_per_user_folder(serve, private_home: Path) -> None:
    folder = download_mnist(mirrors=[serve(FAKE).url])
    assert folder == default_data_dir() == private_home / "mnist"
    assert_complete(folder)


def test_valid_files_are_not_fetched_again(serve, tmp_path: Path) -> None:
    mirror = serve(FAKE)
    dest = tmp_path / "mnist"
    dest.mkdir()
    (dest / TRAIN_IMAGES).write_bytes(FAKE[TRAIN_IMAGES])
    # A raw (uncompressed) copy counts too.
    (dest / "t10k-labels-idx1-ubyte").write_bytes(gzip.decompress(FAKE["t10k-labels-idx1-ubyte.gz"]))
    download_mnist(dest, mirrors=[mirror.url])
    assert mirror.requested(TRAIN_IMAGES) == 0
    assert mirror.requested("t10k-labels-idx1-ubyte.gz") == 0
    assert mirror.requested("train-labels-idx1-ubyte.gz") == 1
    before = len(mirror.requests)
    download_mnist(dest, mirrors=[mirror.url])
    assert len(mirror.requests) == before
    assert load_mnist(dest).test_labels.shape == (30,)


def test_an_invalid_file_in_place_is_replaced(serve, tmp_path: Path) -> None:
    dest = tmp_path / "mnist"
    dest.mkdir()
    (dest / TRAIN_IMAGES).write_bytes(FAKE[TRAIN_IMAGES][:1000])  # a truncated copy from elsewhere
    download_mnist(dest, mirrors=[serve(FAKE).url])
    assert_complete(dest)


def test_dropped_connection_leaves_no_final_file_and_a_retry_succeeds(serve, tmp_path: Path) -> None:
    mirror = serve(FAKE, cut_once={TRAIN_IMAGES: 50_000})
    dest = tmp_path / "mnist"
    with pytest.raises(DownloadError, match=TRAIN_IMAGES) as caught:
        download_mnist(dest, mirrors=[mirror.url])
    assert "\n" not in str(caught.value)
    assert not (dest / TRAIN_IMAGES).exists()
    assert (dest / PARTIAL_DIR / TRAIN_IMAGES).stat().st_size == 50_000

    download_mnist(dest, mirrors=[mirror.url])
    assert_complete(dest)
    # The second try resumed where the first stopped.
    assert mirror.requests[-4] == (TRAIN_IMAGES, "bytes=50000-")


def test_interrupted_download_without_range_support_starts_over(serve, tmp_path: Path) -> None:
    mirror = serve(FAKE, ranges=False, cut_once={TRAIN_IMAGES: 70_000})
    dest = tmp_path / "mnist"
    with pytest.raises(DownloadError):
        download_mnist(dest, mirrors=[mirror.url])
    download_mnist(dest, mirrors=[mirror.url])
    assert_complete(dest)


def test_corrupt_leftover_partial_is_discarded(serve, tmp_path: Path) -> None:
    """A partial file from another mirror's copy (or a crash mid-write) that does not fit: thrown away."""
    partial = tmp_path / "mnist" / PARTIAL_DIR / TRAIN_IMAGES
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\x1f\x8b" + bytes(30_000))
    mirror = serve(FAKE)
    download_mnist(tmp_path / "mnist", mirrors=[mirror.url])
    assert_complete(tmp_path / "mnist")
    assert [r for n, r in mirror.requests if n == TRAIN_IMAGES] == ["bytes=30002-", None]


def test_checksum_mismatch_moves_on_to_the_next_mirror(serve, tmp_path: Path) -> None:
    tampered = dict(FAKE)
    labels = bytearray(gzip.decompress(FAKE["train-labels-idx1-ubyte.gz"]))
    labels[-1] = (labels[-1] + 1) % 10
    tampered["train-labels-idx1-ubyte.gz"] = gzip.compress(bytes(labels))
    bad, good = serve(tampered), serve(FAKE)
    download_mnist(tmp_path / "mnist", mirrors=[bad.url, good.url])
    assert_complete(tmp_path / "mnist")
    assert bad.requested("train-labels-idx1-ubyte.gz") == 1
    assert good.requested("train-labels-idx1-ubyte.gz") == 1
    # Files the first mirror had right came from it.
    assert good.requested(TRAIN_IMAGES) == 0


def test_checksum_mismatch_everywhere_names_the_file(serve, tmp_path: Path) -> None:
    wrong = dict(FAKE)
    wrong["t10k-images-idx3-ubyte.gz"] = FAKE[TRAIN_IMAGES]
    with pytest.raises(DownloadError, match=r"t10k-images-idx3-ubyte\.gz.*checksum"):
        download_mnist(tmp_path / "mnist", mirrors=[serve(wrong).url])
    assert not (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert not (tmp_path / "mnist" / PARTIAL_DIR / "t10k-images-idx3-ubyte.gz").exists()


def test_all_mirrors_failing_gives_one_line_naming_the_file(serve, tmp_path: Path) -> None:
    empty = serve({})  # answers 404 to everything
    refused = unused_port_url()
    with pytest.raises(DownloadError) as caught:
        download_mnist(tmp_path / "mnist", mirrors=[empty.url, refused])
    message = str(caught.value)
    assert message.startswith(f"could not download {TRAIN_IMAGES} from any mirror: ")
    assert "HTTP 404" in message and refused in message
    assert "\n" not in message
    assert not (tmp_path / "mnist" / TRAIN_IMAGES).exists()
    assert list((tmp_path / "mnist").iterdir()) == []  # no empty .partial folder left behind either


def test_a_silent_server_times_out(serve, tmp_path: Path) -> None:
    slow = serve(FAKE, delay=3)
    with pytest.raises(DownloadError, match="timed out"):
        download_mnist(tmp_path / "mnist", mirrors=[slow.url], timeout=0.3)


@pytest.mark.slow
def test_a_silent_server_is_given_up_after_the_timeout_not_its_delay(serve, tmp_path: Path) -> None:
    """Wall-clock: a busy machine can stretch it, hence `slow` (the error itself is checked above)."""
    slow = serve(FAKE, delay=3)
    started = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        download_mnist(tmp_path / "mnist", mirrors=[slow.url], timeout=0.3)
    assert time.monotonic() - started < 2.5


def test_cancel_stops_mid_file_keeps_no_final_file_and_resumes_later(serve, tmp_path: Path) -> None:
    mirror = serve(FAKE)
    dest = tmp_path / "mnist"
    polls = 0

    def should_stop() -> bool:
        nonlocal polls
        polls += 1
        return polls >= 3  # 1: before the file, 2: first chunk, 3: the second chunk

    with pytest.raises(DownloadCancelled):
        download_mnist(dest, should_stop=should_stop, mirrors=[mirror.url])
    assert polls == 3
    assert not (dest / TRAIN_IMAGES).exists()
    partial_size = (dest / PARTIAL_DIR / TRAIN_IMAGES).stat().st_size
    assert 0 < partial_size < len(FAKE[TRAIN_IMAGES])

    download_mnist(dest, mirrors=[mirror.url])
    assert_complete(dest)
    assert (TRAIN_IMAGES, f"bytes={partial_size}-") in mirror.requests


def test_cancel_is_a_download_error() -> None:
    assert issubclass(DownloadCancelled, DownloadError)


def test_file_urls_work_as_mirrors(tmp_path: Path) -> None:
    source = tmp_path / "copy"
    source.mkdir()
    for name, data in FAKE.items():
        (source / name).write_bytes(data)
    download_mnist(tmp_path / "mnist", mirrors=[source.as_uri()])
    assert_complete(tmp_path / "mnist")


def test_real_checksums_match_the_development_copy(mnist_dir: Path) -> None:
    """The module's MD5s are MNIST's: the local copy (differently gzipped) passes them."""
    assert set(REAL_MD5) == {f"{stem}.gz" for stem in MNIST_FILES.values()}
    for name, md5 in REAL_MD5.items():
        assert download.content_md5(mnist_dir / name) == md5
