"""The ``digitpad`` command: no arguments opens the app, subcommands work headless.

Every error ends with a one-line message on stderr and a non-zero exit
status, never a traceback (set DIGITPAD_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys

# One BLAS thread (why: digitpad.model.threads), set here at the top of the
# entry point because the variable only works before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# The commands import numpy: only after the line above.
from digitpad.cli.calibrate import calibrate_command
from digitpad.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, CliError, download_command
from digitpad.cli.finetune import finetune_command
from digitpad.cli.parser import build_parser
from digitpad.cli.predict import export_command, predict_command
from digitpad.cli.train import eval_command, train_command


def _run_gui(weights: str | None) -> int:
    try:
        from digitpad.gui.window.app import run_app
    except ImportError as error:
        raise CliError(f"the app needs PySide6 and pyqtgraph: {error}") from error
    return run_app(weights=weights)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if not arguments:
        # Plain `digitpad` opens the app: skip the parser, whose training defaults
        # import torch (a second or more) before the window could show.
        args = argparse.Namespace(command=None, weights=None)
    else:
        args = build_parser().parse_args(arguments)
    try:
        if args.command in (None, "gui"):
            return _run_gui(getattr(args, "weights", None))
        handler = {
            "train": train_command,
            "eval": eval_command,
            "predict": predict_command,
            "export": export_command,
            "calibrate": calibrate_command,
            "finetune": finetune_command,
            "download": lambda a: (download_command(a.dest), EXIT_OK)[1],
        }[args.command]
        return handler(args)
    except CliError as error:
        print(f"digitpad: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("digitpad: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: one line, not a traceback
        if os.environ.get("DIGITPAD_DEBUG"):
            raise
        print(f"digitpad: unexpected error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
