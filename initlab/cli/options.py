"""The flags of ``initlab run``, generated from what declares them.

Every TrainConfig field is a flag (``--num-restarts``; help text from the
field's documentation, the value parsed by the field's type); a study adds
its own keyword options the same way, and the chosen built-in task adds its
options (``--task digits --test-size 0.2``). Config files (TOML or JSON) use
the same names. Values are only *parsed* here; TrainConfig and the study
validate them.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from initlab._docstrings import section_docs


class UsageError(Exception):
    """Bad input: the message is printed as one line and the exit status is 2."""


# Older spellings kept as aliases of the generated flags.
FLAG_ALIASES = {
    "num_restarts": ("--restarts",),
    "learning_rate": ("--lr",),
    "initializers": ("--init",),
}
# Config-file spellings accepted beside the field names.
CONFIG_ALIASES = {"restarts": "num_restarts", "lr": "learning_rate",
                  "init": "initializers", "out_dir": "out"}  # fmt: skip


def parse_int(value: Any) -> int:
    """An int from a flag or config value (validated later)."""
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected an int, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {value!r}") from None


def parse_float(value: Any) -> float:
    """A float from a flag or config value (validated later)."""
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None


def parse_floats(value: Any) -> float | list[float]:
    """One number, or a comma-separated list of them (a hyper-parameter axis)."""
    if isinstance(value, list | tuple):
        return [parse_float(v) for v in value]
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    values = [parse_float(p) for p in parts]
    if not values:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}")
    return values[0] if len(values) == 1 and not isinstance(value, list) else values


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_spec(value: Any) -> Any:
    """A name, a ``module:factory``, or a JSON object/list (``{"name": ...}``)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(
                f"not valid JSON ({err.msg}): {text!r}"
            ) from None
    return text


def list_of(convert: Callable[[Any], Any]) -> Callable[[Any], list]:
    """A comma-separated flag (or a config list) of ``convert``-ed items."""

    def parse(value: Any) -> list:
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        return [convert(x.strip() if isinstance(x, str) else x) for x in items]

    return parse


def _parser_for(annotation: Any) -> tuple[Callable[[Any], Any], bool]:
    """(value parser, is a boolean switch) for a type annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return parse_bool, True
    if annotation is int:
        return parse_int, False
    if annotation is float:
        return parse_float, False
    if origin in (types.UnionType, typing.Union) and len(args) == 1:
        return _parser_for(args[0])
    if origin in (Sequence, list, tuple) or (
        inspect.isclass(origin) and issubclass(origin, Sequence)
    ):
        item = typing.get_args(annotation)[0] if typing.get_args(annotation) else str
        return list_of(_parser_for(item)[0] if item is not str else str), False
    if origin in (types.UnionType, typing.Union) and float in args:
        return parse_floats, False  # a number or an axis: "0.1" or "0.03,0.1,0.3"
    if origin in (types.UnionType, typing.Union) and int in args:
        return parse_int, False  # e.g. devices: int | Sequence[Device]
    return parse_spec, False


@dataclasses.dataclass(frozen=True)
class Option:
    """One flag: its name (a keyword), spellings, parser, help and visibility."""

    name: str
    flags: tuple[str, ...]
    parse: Callable[[Any], Any]
    switch: bool
    help: str
    repeat: bool = False  # --init a --init b: the values are concatenated
    shown: bool = True


def flag_name(name: str) -> str:
    """``num_restarts`` -> ``--num-restarts``."""
    return "--" + name.replace("_", "-")


def config_options(config_cls: type, shown: Sequence[str]) -> list[Option]:
    """One :class:`Option` per dataclass field (help from its Attributes docs)."""
    hints = typing.get_type_hints(config_cls)
    docs = section_docs(config_cls, "Attributes")
    out = []
    for field in dataclasses.fields(config_cls):
        parse, switch = _parser_for(hints[field.name])
        repeat = field.name == "initializers"
        if repeat:
            parse = _initializers
        out.append(Option(
            field.name, (flag_name(field.name), *FLAG_ALIASES.get(field.name, ())),
            parse, switch, docs.get(field.name, ""), repeat,
            shown=field.name in shown,
        ))  # fmt: skip
    return out


def _initializers(value: Any) -> list:
    """``--init zeros,he_normal`` or ``--init '{"name": ...}'``: a list of entries."""
    if isinstance(value, list | tuple):
        return [parse_spec(v) for v in value]
    parsed = parse_spec(value)
    return parsed if isinstance(parsed, list) else [parsed]


def function_options(
    fn: Callable, names: Sequence[str], section: str = "Args", prefix: str = ""
) -> list[Option]:
    """Options for keyword parameters ``names`` of ``fn`` (help from its docs)."""
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}
    docs = section_docs(fn, section)
    params = inspect.signature(fn).parameters
    out = []
    for name in names:
        annotation = hints.get(name, type(params[name].default))
        parse, switch = _parser_for(annotation)
        out.append(Option(name, (flag_name(prefix + name),), parse, switch,
                          docs.get(name, "")))  # fmt: skip
    return out


def add_options(parser: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Adds each option to ``parser`` (hidden ones parse but stay out of --help)."""

    def typed(opt: Option):
        def convert(text: str) -> Any:
            return opt.parse(text)

        convert.__name__ = opt.name  # argparse names the option in its errors
        return convert

    for opt in options:
        help_text = (
            (opt.help or " ").replace("``", "").replace("%", "%%")
            if opt.shown
            else argparse.SUPPRESS
        )
        if opt.switch:
            parser.add_argument(*opt.flags, dest=opt.name, default=None,
                                action=argparse.BooleanOptionalAction,
                                help=help_text)  # fmt: skip
        elif opt.repeat:
            parser.add_argument(*opt.flags, dest=opt.name, action="append",
                                type=typed(opt), metavar="SPEC",
                                help=help_text)  # fmt: skip
        else:
            parser.add_argument(*opt.flags, dest=opt.name, type=typed(opt),
                                metavar=opt.name.upper(), help=help_text)  # fmt: skip


def read_config(path: Path, options: Mapping[str, Option]) -> dict[str, Any]:
    """Options from a TOML or JSON file, keyed and parsed like the flags."""
    try:
        text = path.read_text()
    except OSError as err:
        raise UsageError(
            f"initlab run: cannot read --config {path}: {err.strerror}"
        ) from None
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise UsageError(
            f"initlab run: --config {path} is not valid {kind}: "
            f"{str(err).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"initlab run: --config {path} must hold a table of options")
    out = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        name = CONFIG_ALIASES.get(name, name)
        if name in ("out", "study"):
            out[name] = Path(value) if name == "out" else value
            continue
        if name not in options:
            from initlab import _checks

            raise UsageError(
                f"initlab run: --config {path}: unknown option {key!r}."
                f"{_checks.closest(name, options)} Valid: "
                f"{', '.join(['study', 'out', *options])}"
            )
        try:
            out[name] = options[name].parse(value)
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"initlab run: --config {path}: {name}: {err}") from None
    return out
