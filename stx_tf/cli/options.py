"""Command-line options generated from the configuration dataclasses (:mod:`stx_tf.configs`).

Every field declared with :func:`stx_tf.configs.option` becomes ``--field-name`` with the field's help,
its choices and its default shown; booleans get ``--flag / --no-flag``; tuples take several values;
optional fields accept ``none``. Options left out on the command line keep the config's default, so
defaults live in one place (the dataclass).
"""

from __future__ import annotations

import argparse
import dataclasses
import re

from stx_tf.configs import CHOICES, CLI, HELP

_NONE = "none"
_BOOL_WORDS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _kind(annotation) -> tuple[str, bool]:
    """``(base type name, optional)`` from a field annotation such as ``"int | None"``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [p.strip() for p in text.split("|")]
    optional = "None" in parts
    base = next((p for p in parts if p != "None"), "str")
    return re.split(r"[\[ ]", base)[0], optional


def _resume(text: str):
    value = text.lower()
    if value == "auto":
        return "auto"
    if value in _BOOL_WORDS:
        return _BOOL_WORDS[value]
    raise argparse.ArgumentTypeError(f"expected auto, yes or no; got {text!r}")


def _show(value) -> str:
    if isinstance(value, tuple | list):
        return " ".join(map(str, value))
    return _NONE if value is None else str(value)


def add_config_options(parser: argparse.ArgumentParser, config_cls, skip=()) -> None:
    """Add one option per CLI field of ``config_cls`` to ``parser`` (``skip``: field names left out)."""
    group = parser.add_argument_group(f"{config_cls.__name__} settings")
    for f in dataclasses.fields(config_cls):
        if not f.metadata.get(CLI, True) or f.name in skip or HELP not in f.metadata:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = _default(f)
        kind, optional = _kind(f.type)
        text = f.metadata[HELP].replace("%", "%%")
        choices = f.metadata.get(CHOICES)
        if f.name == "resume":
            group.add_argument(flag, nargs="?", const=True, type=_resume, default=None, metavar="auto|yes|no",
                               help=f"{text} (default: {default}; --resume alone means yes)")
            continue
        if kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"{text} (default: {'on' if default else 'off'})")
            continue
        convert = {"int": int, "float": float}.get(kind, str)
        if optional:
            base = convert
            convert = lambda v, base=base: _NONE if v.lower() == _NONE else base(v)  # noqa: E731
        options = {"type": convert, "default": None, "help": f"{text} (default: {_show(default)})"}
        if kind in ("tuple", "list"):
            inner = int if "int" in str(f.type) else float if "float" in str(f.type) else str
            options.update(type=inner, nargs="+")
        if choices is not None:
            options["choices"] = [c for c in choices if isinstance(c, str)]
            options["metavar"] = "{" + ",".join(options["choices"]) + "}"
        group.add_argument(flag, **options)


def config_from_args(config_cls, args: argparse.Namespace, base=None, **fixed):
    """The config ``base`` (default: ``config_cls()``) with every option given on the command line applied,
    then ``fixed`` (values the command decides itself).

    Raises:
        ValueError: an invalid combination (the config's own validation).
    """
    base = base if base is not None else config_cls()
    changes, to_none = {}, []
    for f in dataclasses.fields(config_cls):
        if not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if value is None:
            continue
        if value == _NONE and _kind(f.type)[1]:
            to_none.append(f.name)
            continue
        changes[f.name] = tuple(value) if isinstance(value, list) else value
    values = {**base.to_dict(), **changes, **{k: None for k in to_none}, **fixed}
    return config_cls.from_dict(values)
