"""``evofool run CONFIG`` and ``evofool resume RUN_DIR``: evolve fooling images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evofool.archive.confidence import FOOLED_KEY, FOOLED_THRESHOLD
from evofool.cli import retrain
from evofool.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    run_parser = subparsers.add_parser(
        "run", help="evolve fooling images as a config says",
        description="Evolve fooling images into a new run directory. The last stdout line is "
                    f"JSON with the run directory, median confidence and classes at >= "
                    f"{FOOLED_THRESHOLD:g}.")
    run_parser.add_argument("config", type=Path,
                            help="YAML config, or a shipped config's name (mnist_cppn, "
                                 "imagenet_cppn, ...: see configs/)")
    run_parser.add_argument("--out", type=Path, default=None,
                            help="run directory, new or empty (default: runs/<name>-<timestamp>)")
    _add_common(run_parser)
    run_parser.set_defaults(handler=run)

    ascent_parser = subparsers.add_parser(
        "ascent", help="gradient ascent from noise, the paper's baseline (algorithm.type ascent)",
        description="Maximise each target class's probability by gradient ascent from noise "
                    "(configs/mnist_ascent.yaml). A run like any other: same directory, store, "
                    "checkpoints and resume; summary.json adds the steps to each threshold.")
    ascent_parser.add_argument("config", type=Path, help="YAML config with algorithm.type ascent")
    ascent_parser.add_argument("--out", type=Path, default=None,
                               help="run directory, new or empty "
                                    "(default: runs/<name>-<timestamp>)")
    _add_common(ascent_parser)
    ascent_parser.set_defaults(handler=ascent)

    resume_parser = subparsers.add_parser(
        "resume", help="continue an interrupted run or retrain experiment where it stopped",
        description="Continue a run from its newest usable checkpoint. --set may change its "
                    "stop conditions (generations, evaluations, wall_seconds, "
                    "stop_when_all_at; e.g. --set generations=5000 extends a finished run); "
                    "any other config change needs --force.")
    resume_parser.add_argument("run_dir", type=Path,
                               help="the run (or retrain experiment) directory")
    resume_parser.add_argument("--force", action="store_true",
                               help="continue even if the config or model changed")
    _add_common(resume_parser)
    resume_parser.set_defaults(handler=resume)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key (dotted for sections)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args: argparse.Namespace) -> int:
    from evofool.api.configs import config_path, run_config  # torch: only when used
    from evofool.api.run_path import start_run

    config = run_config(config_path(args.config), overrides=args.overrides)
    run_dir, summary = start_run(config, args.out, progress=not args.quiet)
    return _report(run_dir, summary, quiet=args.quiet)


def ascent(args: argparse.Namespace) -> int:
    from evofool.api.configs import config_path, run_config  # torch: only when used

    config = run_config(config_path(args.config), overrides=args.overrides)
    if config.algorithm.type != "ascent":
        raise ConfigError(f"{args.config} has algorithm.type {config.algorithm.type}; "
                          "`evofool ascent` needs ascent (use `evofool run` for evolution)")
    return run(args)


def resume(args: argparse.Namespace) -> int:
    from evofool.api.run_path import resume_run
    from evofool.n_plus_one.experiment import RetrainExperiment
    from evofool.run.stop_rules import RunAlreadyFinished
    from evofool.store.retrain_layout import is_retrain_dir

    if is_retrain_dir(args.run_dir):
        experiment = RetrainExperiment.resume(args.run_dir, args.overrides, force=args.force,
                                              progress=not args.quiet)
        return retrain.report(args.run_dir, experiment.run())
    try:
        summary = resume_run(args.run_dir, args.overrides, force=args.force,
                             progress=not args.quiet)
    except RunAlreadyFinished as finished:  # nothing to do is no failure: a retry loop may end
        print(f"evofool: {finished}", file=sys.stderr)
        return 0
    return _report(args.run_dir, summary, quiet=args.quiet)


def _report(run_dir: Path, summary: dict[str, Any], *, quiet: bool) -> int:
    """The closing line (unless ``quiet``) and the final JSON line on stdout.

    A short run can fill many classes with a handful of images (one noise image can be
    every class's best so far), so the line says how many distinct images they are.
    """
    from evofool.store.layout import CHAMPIONS_DIR, SUMMARY_FILE

    classes, fooled = summary["classes"], summary[FOOLED_KEY]
    images = len({entry["genome_id"] for entry in classes})
    if not quiet:
        print(f"evofool: champions of {len(classes)} classes ({images} distinct images; "
              f"{fooled} classes at >= {FOOLED_THRESHOLD:g} confidence) in "
              f"{run_dir / CHAMPIONS_DIR}; summary in {run_dir / SUMMARY_FILE}", file=sys.stderr)
    print(json.dumps({"run_dir": str(run_dir), "generations": summary["generations"],
                      "median_confidence": summary["median_confidence"],
                      FOOLED_KEY: fooled}))
    return 0
