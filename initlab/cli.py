"""The ``initlab`` command: parse, call :mod:`initlab.experiments`, print, write.

Commands::

    initlab run [STUDY] [options]   train a study, print its summary, write a report
    initlab list                    initializers (formula, defaults), tasks, models,
                                    studies, optimizers
    initlab show DIR                summary of a saved run
    initlab bench ...               the benchmark (initlab.bench), when installed

Bad input prints one line naming the valid choices and exits with status 2.
Ctrl-C during ``run`` keeps every finished chunk; the same command resumes.

Example:
  $ initlab run                       # the zoo: every Keras initializer, digits
  $ initlab run xor --small --out /tmp/xor
  $ initlab show initlab-runs/zoo
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Options of `run`: dest -> converter from a flag string or a config-file value.
_RUN_KEYS = ("study", "task", "model", "initializers", "num_restarts", "steps",
             "batch_size", "optimizer", "learning_rate", "design", "grid_data",
             "seed", "target", "chunk_size", "devices", "ranges", "depths",
             "activations", "width", "out", "quiet", "small")  # fmt: skip
# Config-file spellings accepted beside the dest names.
_CONFIG_ALIASES = {"restarts": "num_restarts", "lr": "learning_rate",
                   "init": "initializers", "out_dir": "out"}  # fmt: skip


class UsageError(Exception):
    """Bad input: the message is printed as one line and the exit status is 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports an error as one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected a positive int, got {value!r}")
    try:
        number = int(value) if not isinstance(value, float) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1 or str(value).strip() != str(number):
        raise argparse.ArgumentTypeError(f"expected a positive int, got {value!r}")
    return number


def _nonnegative_int(value: Any) -> int:
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {value!r}")
    try:
        number = int(str(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an int >= 0, got {value!r}"
        ) from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {value!r}")
    return number


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected a number > 0, got {value!r}"
        ) from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}")
    return number


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None


def _list_of(convert):
    def parse(value: Any) -> list:
        items = value if isinstance(value, list) else str(value).split(",")
        return [convert(x.strip() if isinstance(x, str) else x) for x in items]

    return parse


def _model(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    text = str(value).strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise argparse.ArgumentTypeError(
                f"model config is not valid JSON ({err.msg}): {text!r}"
            ) from None
    return text


def _build_parser() -> _Parser:
    from initlab.engine import DESIGNS
    from initlab.experiments import STUDIES

    parser = _Parser(
        prog="initlab",
        description="The science of weight initialization: many restarts, honest "
        "statistics, reports.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="train a study and write its report",
        description="Train a study, print its summary table and write the report "
        "folder (results.parquet, figures/*.png, report.md, report.html). Options "
        "override the --config file. Ctrl-C keeps finished chunks; the same "
        "command resumes.",
    )
    run.add_argument("study", nargs="?", choices=list(STUDIES), default=None,
                     help="study to run (default zoo)")  # fmt: skip
    run.add_argument("--config", type=Path, help="TOML or JSON file of options")
    run.add_argument("--task", help="task name (see `initlab list`)")
    run.add_argument("--model", type=_model,
                     help='model name, or JSON config {"name": "mlp", "widths": '
                     "[256, 256]}; sizes come from the task")  # fmt: skip
    run.add_argument("--init", "--initializers", dest="initializers",
                     action="append", metavar="INIT",
                     help="initializer names (comma-separated) or a JSON config; "
                     "repeatable")  # fmt: skip
    run.add_argument("--restarts", dest="num_restarts", type=_positive_int,
                     help="restarts per initializer")  # fmt: skip
    run.add_argument("--steps", type=_positive_int, help="training steps")
    run.add_argument("--batch-size", type=_positive_int, help="minibatch size")
    run.add_argument("--optimizer", help="optax optimizer name (see `initlab list`)")
    run.add_argument("--lr", dest="learning_rate", type=_positive_float,
                     help="learning rate")  # fmt: skip
    run.add_argument("--design", choices=list(DESIGNS), help="restart design")
    run.add_argument("--grid-data", type=_positive_int,
                     help="data orders of the grid design")  # fmt: skip
    run.add_argument("--seed", type=_nonnegative_int, help="root seed (default 0)")
    run.add_argument("--target", type=_float,
                     help="success threshold of the summary metric")  # fmt: skip
    run.add_argument(
        "--chunk-size",
        type=_positive_int,
        help="restarts per compiled call (chunks are saved: resume)",
    )
    run.add_argument("--devices", type=_positive_int,
                     help="devices to shard restarts over (default: all; on CPU "
                     "one device per core)")  # fmt: skip
    run.add_argument("--ranges", type=_list_of(_positive_float),
                     help="xor: comma-separated a of U(-a, a)")  # fmt: skip
    run.add_argument("--depths", type=_list_of(_positive_int),
                     help="depth: comma-separated depths")  # fmt: skip
    run.add_argument("--activations", type=_list_of(str),
                     help="depth: comma-separated activations")  # fmt: skip
    run.add_argument("--width", type=_positive_int, help="depth: hidden width")
    run.add_argument("--out", type=Path,
                     help="output folder (default ./initlab-runs/STUDY)")  # fmt: skip
    run.add_argument("--quiet", action="store_true", default=None,
                     help="no progress bar")  # fmt: skip
    run.add_argument("--small", action="store_true", default=None,
                     help="a smoke run: few restarts and steps")  # fmt: skip

    sub.add_parser("list", help="initializers, tasks, models, studies, optimizers")
    show = sub.add_parser("show", help="summary of a saved run")
    show.add_argument("dir", type=Path, help="a run folder (or results.parquet)")
    show.add_argument("--metric", help="final metric (default test_accuracy/loss)")
    show.add_argument("--target", type=_float, help="success threshold")
    sub.add_parser("bench", help="the benchmark (arguments go to initlab.bench)",
                   add_help=False)  # fmt: skip
    return parser


# ----- config files ------------------------------------------------------------------


def _read_config(path: Path) -> dict[str, Any]:
    """Options from a TOML or JSON file, keyed by dest names (checked)."""
    try:
        text = path.read_text()
    except OSError as err:
        raise UsageError(
            f"initlab run: cannot read --config {path}: {err.strerror}"
        ) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise UsageError(
            f"initlab run: --config {path} is not valid {kind}: "
            f"{str(err).splitlines()[0]}"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"initlab run: --config {path} must hold a table of options")
    options = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        name = _CONFIG_ALIASES.get(name, name)
        if name not in _RUN_KEYS:
            raise UsageError(
                f"initlab run: --config {path}: unknown option {key!r}; valid: "
                f"{', '.join(_RUN_KEYS)}"
            )
        options[name] = value
    return _convert_config(options, path)


def _convert_config(options: dict[str, Any], path: Path) -> dict[str, Any]:
    converters = {
        "num_restarts": _positive_int, "steps": _positive_int,
        "batch_size": _positive_int, "grid_data": _positive_int,
        "chunk_size": _positive_int, "devices": _positive_int,
        "width": _positive_int, "seed": _nonnegative_int,
        "learning_rate": _positive_float, "target": _float, "model": _model,
        "ranges": _list_of(_positive_float), "depths": _list_of(_positive_int),
        "activations": _list_of(str), "out": Path,
    }  # fmt: skip
    out = {}
    for name, value in options.items():
        try:
            if name in converters:
                value = converters[name](value)
            elif name in ("quiet", "small") and not isinstance(value, bool):
                raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")
            elif name == "initializers":
                value = value if isinstance(value, list) else [value]
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"initlab run: --config {path}: {name}: {err}") from None
        out[name] = value
    return out


# ----- commands ------------------------------------------------------------------


def _start_devices(devices: int | None) -> None:
    """One XLA CPU device per core (or ``devices``), before JAX computes anything.

    Only the CPU backend's device count changes; on a GPU/TPU machine the
    accelerators stay the default devices, so this is harmless there. When JAX
    has already started (``main`` called from a notebook), JAX's devices stay as
    they are.
    """
    import initlab

    try:
        initlab.use_cpu_devices(devices)
    except RuntimeError:
        pass


def _run(args: argparse.Namespace) -> int:
    from initlab import experiments

    options: dict[str, Any] = {}
    if args.config is not None:
        options.update(_read_config(args.config))
    for name in _RUN_KEYS:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    study = options.pop("study", None) or "zoo"
    if study not in experiments.STUDIES:
        raise UsageError(
            f"initlab run: unknown study {study!r}; valid: "
            f"{', '.join(experiments.STUDIES)}"
        )
    quiet = bool(options.pop("quiet", False))
    small = bool(options.pop("small", False))
    out = options.pop("out", None)
    if out is None:
        out = Path("initlab-runs") / (f"{study}-small" if small else study)
    allowed = set(experiments.study_options(study))
    unknown = sorted(set(options) - allowed)
    if unknown:
        takes = sorted(allowed - {"small", "out_dir", "progress"})
        raise UsageError(
            f"initlab run {study}: this study takes no {', '.join(unknown)}; it "
            f"takes: {', '.join(takes)}"
        )
    experiments.check_options(study, **options)  # bad values fail before JAX starts
    _start_devices(options.get("devices"))
    if not quiet:
        print(f"initlab run {study}: writing to {out}", file=sys.stderr)
    try:
        result = experiments.run_study(
            study, small=small, out_dir=out, progress=not quiet, **options
        )
    except KeyboardInterrupt:
        chunks = sorted((Path(out) / "chunks").glob("chunk-*.parquet"))
        print(
            f"\ninterrupted: {len(chunks)} finished chunk(s) kept in "
            f"{Path(out) / 'chunks'}; run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    print(result.text)
    if result.out_dir is not None:
        report = result.out_dir / "report.html"
        print(f"\nreport: {report if report.exists() else result.out_dir}")
    return 0


def _list() -> int:
    import initlab
    from initlab import experiments
    from initlab.registry import FORMULAS

    width = max(map(len, initlab.names()))
    print("initializers (name: formula, defaults):")
    keras = set(initlab.KERAS_NAMES)
    for name in initlab.names():
        mark = "*" if name in keras else " "
        print(f" {mark}{name:<{width}}  {FORMULAS.get(name, '')}")
    print("  (* = Keras's built-in list, the zoo study's default)")
    print(f"tasks: {', '.join(initlab.TASKS)}")
    print(f"models: {', '.join(initlab.MODELS)} (sizes filled in from the task)")
    print("studies:")
    for name, study in experiments.STUDIES.items():
        summary = (study.__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<9} {summary}")
    print(f"optimizers: {', '.join(sorted(set(initlab.OPTIMIZERS)))}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from initlab import experiments, stats
    from initlab.outcomes import Outcomes
    from initlab.report import default_metric

    try:
        outcomes = Outcomes.load(args.dir)
    except FileNotFoundError:
        raise UsageError(
            f"initlab show: no saved run in {args.dir} (expected "
            f"{args.dir / 'results.parquet'}); give a folder written by initlab run"
        ) from None
    metric = args.metric or default_metric(outcomes)
    if metric not in outcomes.final:
        raise UsageError(
            f"initlab show: unknown metric {metric!r}; valid: "
            f"{', '.join(outcomes.metrics)}"
        )
    table = stats.summary_table(outcomes, metric, rng=0, target=args.target)
    meta = outcomes.metadata
    print(f"{args.dir}: {len(outcomes)} restarts, final {metric}")
    keys = ("task", "model", "steps", "batch_size", "optimizer", "learning_rate",
            "design", "seed", "wall_time_s")  # fmt: skip
    print("settings: " + ", ".join(f"{k}={meta[k]}" for k in keys if k in meta))
    print(experiments.format_summary(table))
    return 0


def _bench(argv: Sequence[str]) -> int:
    if importlib.util.find_spec("initlab.bench") is None:
        print("initlab bench: unavailable (initlab.bench is not installed)",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    from initlab import bench

    code = bench.main(list(argv))
    return int(code or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``initlab`` command; returns its exit status.

    Args:
      argv: arguments without the program name (default ``sys.argv[1:]``).

    Returns:
      0 on success, 2 on bad input (one line on stderr), 130 when interrupted.
      Set ``INITLAB_DEBUG=1`` to see the traceback instead of the one line.

    Example:
      >>> main(["run", "xor", "--small", "--quiet", "--out", "/tmp/xor"])
      0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["bench"]:
            return _bench(argv[1:])
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "run":
            return _run(args)
        if args.command == "list":
            return _list()
        return _show(args)
    except UsageError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, KeyError) as err:
        if os.environ.get("INITLAB_DEBUG"):
            raise  # the full traceback, for bugs that look like bad input
        message = " ".join(str(err.args[0] if err.args else err).split())
        print(f"initlab: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
