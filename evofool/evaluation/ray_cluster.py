"""Ray, imported on demand (an optional extra), and the cluster a run's actors live on."""

from __future__ import annotations

from types import ModuleType

from evofool.errors import EvofoolError
from evofool.evaluation.ray_reaper import start_reaper


def ray_module() -> ModuleType:
    """Ray, or one line saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise EvofoolError("evaluator.backend ray needs Ray: pip install 'evofool[ray]'"
                           ) from error
    return ray


def join_cluster(actors: int, address: str | None) -> ModuleType:
    """Ray, connected to the cluster at ``address`` (an existing one, ``ray://host:10001``
    or ``auto``), or to a local one of ``actors`` CPUs started for this run, whose
    processes end with it however it ends (evofool.evaluation.ray_reaper)."""
    ray = ray_module()
    if not ray.is_initialized():
        if address is None:
            start_reaper()
        # "local": a cluster of the run's own, even where another runs on this machine
        # (Ray would join that one, and refuse the num_cpus it is given)
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                 **({} if address else {"num_cpus": max(actors, 1)}))
    return ray
