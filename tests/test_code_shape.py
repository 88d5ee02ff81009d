"""Code shape: no function in ``digitpad/`` over 60 lines, no class over 400.

Long functions and classes are where this project's bugs have hidden: split
them into named pieces (see CONTRIBUTING.md). Lines are counted from the
``def``/``class`` line to the last line of the body, docstring and comments
included; decorators are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import digitpad

PACKAGE = Path(digitpad.__file__).resolve().parent
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 400
SOURCES = sorted(PACKAGE.rglob("*.py"))


def lines(node: ast.AST) -> int:
    return node.end_lineno - node.lineno + 1


def too_long(path: Path) -> list[str]:
    """``qualified name (N lines, line L)`` of each function or class in ``path`` over its limit."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                limit = MAX_CLASS_LINES if isinstance(child, ast.ClassDef) else MAX_FUNCTION_LINES
                if lines(child) > limit:
                    found.append(f"{name} ({lines(child)} lines > {limit}, line {child.lineno})")
                visit(child, f"{name}.")
            else:
                # Definitions inside if/try/with blocks count too.
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return found


def test_the_check_sees_the_sources() -> None:
    assert PACKAGE / "cli" / "__init__.py" in SOURCES and PACKAGE / "gui" / "window" / "app.py" in SOURCES


def test_the_check_counts_from_def_to_the_last_line(tmp_path: Path) -> None:
    body = [f"x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1)]
    fits = "\n".join(["def fits():", *(f"    {line}" for line in body)])
    over = "\n".join(["class Holder:", "    def too_long(self):", *(f"        {line}" for line in [*body, "y = 1"])])
    source = tmp_path / "sample.py"
    source.write_text(f"{fits}\n\n\n{over}\n")
    line = MAX_FUNCTION_LINES + 4  # after fits() and two blank lines, "class Holder:"
    assert too_long(source) == [f"Holder.too_long ({MAX_FUNCTION_LINES + 1} lines > {MAX_FUNCTION_LINES}, line {line})"]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_no_function_over_60_lines_and_no_class_over_400(path: Path) -> None:
    assert too_long(path) == [], f"split these in {path.relative_to(PACKAGE.parent)}"
