"""Benchmarks run: each script in benchmarks/ on its smallest budget (tests/background_runs.py,
started in the background when the session starts), its last stdout line its whole JSON
result, so a change that breaks a benchmark fails here instead of in a later session.

Every script is smoke-run, or in NOT_YET with the reason (a test says so).
"""

import json

import pytest
from background_runs import BENCHMARKS, SMOKE

# Smoke runs that take over 20 s on a 2-core Zen 5, and why.
SLOW = {"defenses_mnist.py": "18 runs, a one-round n+1 experiment and 9 defend reports",
        "imagenet.py": "EfficientNet-Lite0 exported, its engines and screens timed, then run"}


@pytest.mark.parametrize("script", [
    pytest.param(script, marks=pytest.mark.slow(SLOW[script])) if script in SLOW else script
    for script in sorted(SMOKE)])
def test_benchmark_runs_and_ends_with_its_whole_json_result(script, background_runs):
    result = background_runs[script].result()
    assert result.returncode == 0, result.stderr[-2000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(last, dict) and last, result.stdout[-500:]


# Benchmarks without a smoke budget yet, and why: listed, so that none is left out silently.
NOT_YET: dict[str, str] = {}


def test_every_benchmark_has_a_smoke_budget():
    """A new benchmark is run here the day it is added (or listed in NOT_YET with why)."""
    scripts = {path.name for path in BENCHMARKS.glob("*.py")
               if 'if __name__ == "__main__":' in path.read_text()}  # not the helpers
    smoked = {script.split(":")[0] for script in SMOKE}
    assert scripts == smoked | set(NOT_YET), sorted(scripts ^ (smoked | set(NOT_YET)))
    assert not set(SMOKE) & set(NOT_YET)
