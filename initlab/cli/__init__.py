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
import dataclasses
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from initlab.cli.options import (
    Option,
    UsageError,
    add_options,
    config_options,
    flag_name,
    function_options,
    parse_bool,
    parse_float,
    parse_spec,
    read_config,
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse that reports an error as one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="initlab",
        description="The science of weight initialization: many restarts, honest "
        "statistics, reports.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("run", help="train a study and write its report (initlab run "
                   "[STUDY] --help for its options)", add_help=False)  # fmt: skip
    sub.add_parser("plan", help="the execution plan of a run (initlab run ... "
                   "--dry-run)", add_help=False)  # fmt: skip
    sub.add_parser("list", help="initializers, tasks, models, studies, optimizers")
    show = sub.add_parser("show", help="summary of a saved run")
    show.add_argument("dir", type=Path, help="a run folder (or results.parquet)")
    show.add_argument("--metric", help="final metric (default test_accuracy/loss)")
    show.add_argument("--target", type=parse_float, help="success threshold")
    sub.add_parser("bench", help="the benchmark (arguments go to initlab.bench)",
                   add_help=False)  # fmt: skip
    return parser


# ----- initlab run ---------------------------------------------------------------


def _all_options() -> dict[str, Option]:
    """Every option any study could take: what a config file may set.

    (A task's options go inside its table: ``task = {name = "digits",
    test_size = 0.2}``.)
    """
    from initlab import experiments
    from initlab.engine import TrainConfig

    options = {o.name: o for o in config_options(TrainConfig, ())}
    for study in experiments.STUDIES.values():
        for o in function_options(study.function, list(study.own_options)):
            options.setdefault(o.name, o)
    options["quiet"] = Option("quiet", ("--quiet",), parse_bool, True, "")
    options["small"] = Option("small", ("--small",), parse_bool, True, "")
    return options


def _task_options(task_name: Any, taken: set[str]) -> list[Option]:
    """The options of a built-in task as flags (``--test-size``); ``--task-seed``
    where a name is taken by a training option. Each Option's ``name`` is its
    dest, prefixed ``task:`` so it folds back into the task spec."""
    from initlab.tasks import TASKS

    if not isinstance(task_name, str) or task_name not in TASKS:
        return []
    fn = TASKS[task_name]
    out = []
    for opt in function_options(fn, list(inspect.signature(fn).parameters)):
        flag = f"task_{opt.name}" if opt.name in taken else opt.name
        out.append(dataclasses.replace(
            opt, name=f"{_TASK_PREFIX}{opt.name}", flags=(flag_name(flag),),
            help=f"task {task_name}: {opt.help}",
        ))  # fmt: skip
    return out


# Task options travel as "task:<parameter>" until they join the task spec.
_TASK_PREFIX = "task:"


def _run_parser(study_name: str, task_name: Any) -> tuple[_Parser, dict[str, Option]]:
    from initlab import experiments
    from initlab.engine import TrainConfig

    study = experiments.STUDIES[study_name]
    parser = _Parser(
        prog=f"initlab run {study_name}",
        description=f"{study.summary} Trains, prints the summary table and writes "
        "the report folder (results.parquet, figures, report.md, report.html). "
        "Flags override the --config file. Ctrl-C keeps finished chunks; the same "
        "command resumes.",
    )
    names = ", ".join(experiments.STUDIES)
    parser.add_argument("study", nargs="?", help=f"the study ({names}; default zoo)")
    parser.add_argument("--config", type=Path, help="TOML or JSON file of options")
    options = config_options(TrainConfig, study.config_fields)
    own = function_options(study.function, list(study.own_options))
    taken = {o.name for o in options} | {o.name for o in own}
    task = _task_options(task_name, taken)
    controls = [
        Option("out", ("--out",), Path, False,
               "output folder (default ./initlab-runs/STUDY)"),
        Option("quiet", ("--quiet",), parse_bool, True, "no progress bar"),
        Option("small", ("--small",), parse_bool, True,
               "a smoke run: few restarts and steps"),
        Option("dry_run", ("--dry-run",), parse_bool, True,
               "print the execution plan and stop (nothing trains)"),
    ]  # fmt: skip
    groups = (
        ("training options (initlab.TrainConfig)", options),
        (f"options of the {study_name} study", own),
        (f"options of the task {task_name!r}", task),
        ("run", controls),
    )
    for title, opts in groups:
        if opts:
            add_options(parser.add_argument_group(title), opts)
    return parser, {o.name: o for _, opts in groups for o in opts}


def _run(argv: list[str]) -> int:
    from initlab import experiments

    study = argv[0] if argv and not argv[0].startswith("-") else None
    pre = _Parser(prog="initlab run", add_help=False)
    pre.add_argument("--config", type=Path)
    pre.add_argument("--task", type=parse_spec)
    known, _ = pre.parse_known_args(argv[1:] if study else argv)
    from_file: dict[str, Any] = {}
    if known.config is not None:
        from_file = read_config(known.config, _all_options())
    study = study or from_file.pop("study", None) or "zoo"
    from_file.pop("study", None)
    if study not in experiments.STUDIES:
        raise UsageError(
            f"initlab run: unknown study {study!r}; valid: "
            f"{', '.join(experiments.STUDIES)}"
        )
    task_name = known.task or from_file.get("task") or _default_task(study)
    parser, table = _run_parser(study, task_name)
    args = parser.parse_args(argv)
    options = {**from_file}
    for name in table:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = _flatten(value) if table[name].repeat else value
    quiet = bool(options.pop("quiet", False))
    small = bool(options.pop("small", False))
    dry_run = bool(options.pop("dry_run", False))
    out = options.pop("out", None)
    if out is None:
        out = Path("initlab-runs") / (f"{study}-small" if small else study)
    _fold_task_options(options, task_name)
    experiments.check_options(study, small=small, **options)  # before JAX starts
    _start_devices(options.get("devices"))
    if experiments.STUDIES[study].uses is None:  # it trains: say how, first
        import initlab

        config = experiments.STUDIES[study].run_config(small=small, **options)
        summary = initlab.plan(config).summary()
        if dry_run:
            print(summary)
            return 0
        if not quiet:
            print(summary, file=sys.stderr)
    elif dry_run:
        print(f"plan: the {study} study trains nothing (diagnostics at init)")
        return 0
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


def _flatten(values: list) -> list:
    return [x for v in values for x in (v if isinstance(v, list) else [v])]


def _default_task(study: str) -> Any:
    from initlab import experiments

    return experiments.STUDIES[study].defaults(False, {}).get("task")


def _fold_task_options(options: dict[str, Any], task_name: Any) -> None:
    """``--test-size 0.2`` -> ``task={"name": "digits", "test_size": 0.2}``."""
    given = {
        name.removeprefix(_TASK_PREFIX): options.pop(name)
        for name in list(options)
        if name.startswith(_TASK_PREFIX)
    }
    if given:
        task = options.get("task", task_name)
        spec = dict(task) if isinstance(task, Mapping) else {"name": task}
        options["task"] = {**spec, **given}


def _read_config(path: Path) -> dict[str, Any]:
    """Options from a TOML or JSON file, keyed by option names (parsed)."""
    return read_config(path, _all_options())


def _start_devices(devices: Any) -> None:
    """One XLA CPU device per core (or ``devices``), before JAX computes anything.

    Only the CPU backend's device count changes; on a GPU/TPU machine the
    accelerators stay the default devices, so this is harmless there. When JAX
    has already started (``main`` called from a notebook), JAX's devices stay as
    they are.
    """
    import initlab

    try:
        initlab.use_cpu_devices(devices if isinstance(devices, int) else None)
    except RuntimeError:
        pass


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
        print(f"  {name:<9} {study.summary}")
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
    shown = {"task": meta.get("task_name", meta.get("task")),
             "model": meta.get("model_name", meta.get("model"))}  # fmt: skip
    for k in ("steps", "batch_size", "optimizer", "learning_rate", "design", "seed",
              "wall_time_s"):  # fmt: skip
        shown[k] = meta.get(k)
    print(
        "settings: " + ", ".join(f"{k}={v}" for k, v in shown.items() if v is not None)
    )
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
        if argv[:1] == ["run"]:
            return _run(argv[1:])
        if argv[:1] == ["plan"]:  # initlab plan STUDY ... = run --dry-run
            return _run([*argv[1:], "--dry-run"])
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "list":
            return _list()
        return _show(args)
    except UsageError as err:
        print(str(err), file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # the OS refused a file or folder: one line, not a trace
        if os.environ.get("INITLAB_DEBUG"):
            raise
        where = f" {err.filename}" if err.filename else ""
        print(f"initlab: error:{where}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, KeyError) as err:
        if os.environ.get("INITLAB_DEBUG"):
            raise  # the full traceback, for bugs that look like bad input
        message = " ".join(str(err.args[0] if err.args else err).split())
        print(f"initlab: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
