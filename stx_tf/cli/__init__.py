"""The ``stx`` command line: argument parsing only, then calls into the package.

Each feature has a module here exposing ``register(subparsers)``; its sub-commands set
``func(args) -> int | None`` as their handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Feature modules in the order their commands are listed by ``stx --help``.
COMMAND_MODULES = (
    "data",
    "cyclegan",
    "cut",
    "submission",
    "stylize",
    "score",
    "fast_style",
    "dcgan",
    "serve",
    "kaggle",
)


def build_parser() -> argparse.ArgumentParser:
    from stx_tf import __version__

    parser = argparse.ArgumentParser(
        prog="stx", description="stx_tf: style transfer, photo->Monet CycleGAN and CUT, Kaggle submission, DCGAN."
    )
    parser.add_argument("--version", action="version", version=f"stx_tf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"stx_tf.cli.{name}").register(subparsers)
    return parser


def main(argv=None) -> int:
    from stx_tf.settings import quiet_tensorflow

    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
    except ValueError as err:  # bad input: one clear line, no stack trace
        print(f"stx: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stx: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
