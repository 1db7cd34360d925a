"""Per-generation progress: a tqdm bar on a terminal (or, from the Python API, tqdm.auto's:
a widget in Jupyter), plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

from evofool.archive.confidence import format_confidence

LOG_INTERVAL_SECONDS = 30.0


class ProgressReporter:
    """Shows generation, evaluations and best/median/min champion confidence.

    Args:
        total_generations: the bar's length when generations bound the run (ETA then).
        enabled: False silences everything.
        bar: a bar even where stderr is no terminal (a notebook), through tqdm.auto.
    """

    def __init__(self, *, total_generations: int | None, enabled: bool = True,
                 bar: bool = False) -> None:
        self.enabled = enabled
        self.interactive = enabled and (bar or sys.stderr.isatty())
        self.bar = _bar_kind(bar)(total=total_generations, unit="gen", file=sys.stderr,
                                  desc="evolving") if self.interactive else None
        self.last_log = time.monotonic()

    def update(self, row: dict[str, Any], *, final: bool = False) -> None:
        """Show a generation's metrics row (evofool.run.metrics); ``final``: the run's last,
        which a plain log always prints."""
        generation, evaluations = row["generation"], row["evaluations"]
        best, median, worst = row["best"], row["median"], row["min"]
        if self.bar is not None:
            self.bar.update(generation - self.bar.n)
            self.bar.set_postfix_str(_confidences(best, median, worst), refresh=False)
        elif self.enabled and (final or time.monotonic() - self.last_log >= LOG_INTERVAL_SECONDS):
            self.last_log = time.monotonic()
            print(f"evofool: generation {generation} evaluations {evaluations} "
                  f"{_confidences(best, median, worst)}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _bar_kind(anywhere: bool) -> type[tqdm]:
    """tqdm's terminal bar, or with ``anywhere`` tqdm.auto's: a widget in Jupyter (a text
    bar there without ipywidgets, which tqdm would warn about on every import)."""
    if not anywhere:
        return tqdm
    import warnings

    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm as auto_tqdm
    return auto_tqdm


def _confidences(best: float, median: float, worst: float) -> str:
    return (f"best {format_confidence(best)} median {format_confidence(median)} "
            f"min {format_confidence(worst)}")
