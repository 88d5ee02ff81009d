"""Drawing files a careless or hostile user hands ``digitpad predict`` or File > Open (issue 24, items 1, 2, 12
and 13): each is one clear line naming the file, and the files after it are still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from digitpad.cli.common import EXIT_ERROR
from digitpad.ink.drawings import MAX_SECONDS, DrawingError, load_drawing


def drawing(strokes: list, pad: dict | None = None) -> dict:
    return {
        "format": "digitpad-drawing",
        "version": 1,
        "pad": pad or {"width": 400, "height": 400},
        "pen_width": 28,
        "strokes": strokes,
    }


ONE = {"points": [[200, 80], [200, 200], [200, 320]], "pressure": [0.5, 0.5, 0.5], "t": [0.0, 0.1, 0.2]}
HUGE = 10**400

BROKEN = {
    "points is a number": (drawing([{"points": 5}]), "no points"),
    "points is null": (drawing([{"points": None}]), "no points"),
    "a 400-digit coordinate": (drawing([{**ONE, "points": [[HUGE, 80], [200, 200], [200, 320]]}]), "401 digits"),
    "a 400-digit pad width": (drawing([ONE], pad={"width": HUGE, "height": 400}), "pad's width"),
    "times far in the future": (drawing([{**ONE, "t": [0.0, 0.1, 1e301]}]), "times must lie between 0 and"),
    "negative times": (drawing([{**ONE, "t": [-2.9e10, 0.1, 0.2]}]), "times must lie between 0 and"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_drawing_is_one_line_and_the_next_file_is_read(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    document, fragment = BROKEN[name]
    broken, good = tmp_path / "broken.json", tmp_path / "good.json"
    broken.write_text(json.dumps(document))
    good.write_text(json.dumps(drawing([ONE])))
    with pytest.raises(DrawingError, match=fragment):
        load_drawing(broken)  # what File > Open drawing reads, and shows in one line
    code, out, err = run_cli(["predict", str(broken), str(good)], capsys)
    assert code == EXIT_ERROR
    assert err.count("\n") == 1 and err.startswith(f"digitpad: {broken}: ") and fragment in err
    assert "unexpected error" not in err and "Traceback" not in err
    assert out.strip() == f"{good}: 1"  # read after the broken one


def test_an_integer_too_long_for_python_to_read_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "long.json"
    path.write_text(json.dumps(drawing([ONE])).replace('"pen_width": 28', '"pen_width": ' + "9" * 5000))
    with pytest.raises(DrawingError, match="not JSON"):
        load_drawing(path)


def test_a_folder_named_like_a_drawing_is_called_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "dir.json"
    folder.mkdir()
    code, _, err = run_cli(["predict", str(folder)], capsys)
    assert code == EXIT_ERROR and "is a folder, not a drawing" in err and "image" not in err


def test_a_day_of_drawing_is_still_a_drawing(tmp_path: Path) -> None:
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(drawing([{**ONE, "t": [0.0, 60.0, float(MAX_SECONDS)]}])))
    assert load_drawing(path).duration() == MAX_SECONDS
