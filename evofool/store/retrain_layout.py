"""Where the n+1 experiment keeps each round's run and model inside its directory.

    RETRAIN_DIR/
        config.yaml          the resolved retrain config
        retrain.sqlite       rounds, trainings and the garbage set (see store)
        rounds/round-00/     round 0's evolution run: an ordinary run directory
        held-out/round-00/   round 0's independent run, whose images are never trained on
        models/round-01.pt   the n+1-class LeNet trained after round 0
        rounds.csv, rounds.json, rounds.png   the per-round table and plot
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evofool.errors import EvofoolError
from evofool.store.run_store import is_run_dir

RETRAIN_STORE_FILE = "retrain.sqlite"


def is_retrain_dir(path: Path) -> bool:
    return (Path(path) / RETRAIN_STORE_FILE).exists()


def round_run_dir(retrain_dir: Path, round_index: int) -> Path:
    return Path(retrain_dir) / "rounds" / f"round-{round_index:02d}"


def held_out_run_dir(retrain_dir: Path, round_index: int) -> Path:
    return Path(retrain_dir) / "held-out" / f"round-{round_index:02d}"


def round_model_path(retrain_dir: Path, round_index: int) -> Path:
    return Path(retrain_dir) / "models" / f"round-{round_index:02d}.pt"


def round_runs(retrain_dir: Path) -> list[tuple[int, Path]]:
    """(round, run directory) for every round whose run has started, in round order."""
    runs = [(int(run.name.removeprefix("round-")), run)
            for run in (Path(retrain_dir) / "rounds").glob("round-*") if is_run_dir(run)]
    return sorted(runs)


def expand_run_dirs(paths: Sequence[Path], rounds: Sequence[int] | None
                    ) -> list[tuple[Path, str | None]]:
    """Run directories with labels: a retrain directory stands for its rounds' runs.

    Raises:
        EvofoolError: ``rounds`` with no retrain directory, or a round that has no run.
    """
    if rounds is not None and not any(is_retrain_dir(path) for path in paths):
        raise EvofoolError("--rounds selects rounds of a retrain directory; none was given")
    expanded: list[tuple[Path, str | None]] = []
    for path in paths:
        if not is_retrain_dir(path):
            expanded.append((Path(path), None))
            continue
        present = [round_index for round_index, _ in round_runs(path)]
        for round_index in rounds if rounds is not None else present:
            if round_index not in present:
                raise EvofoolError(f"{path} has no run for round {round_index} "
                                   f"(rounds with runs: {present or 'none'})")
            expanded.append((round_run_dir(path, round_index),
                             f"{Path(path).name}-round-{round_index:02d}"))
    return expanded
