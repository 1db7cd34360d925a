"""``ood_report``, ``defend`` and ``transfer`` from Python: what fooling images do to OOD
detectors, to input defences and to other models.

``evofool ood``, ``evofool defend`` and ``evofool transfer`` call these, so the command line
and Python share one path. Each returns its report; it is also written (CSV, JSON, a PNG)
into ``out``, or, where the images are one run's and ``out`` is not given, into that run's
``ood/``, ``defend/`` or ``transfer/``, where the browser shows it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from torch import nn

from evofool.analysis.report_defaults import DEFAULT_DEFENSES, DEFAULT_DETECTORS
from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import EvofoolError
from evofool.models.in_memory import module_classifier
from evofool.store import is_run_dir

if TYPE_CHECKING:
    from evofool.analysis.defense_report import DefenseReport
    from evofool.analysis.ood_report import OodReport
    from evofool.analysis.transfer_matrix import TransferMatrix
    from evofool.api.retrain import Experiment
    from evofool.api.run import Run
    from evofool.models import Classifier

FoolingSet = Union[str, Path, "Run", "Experiment"]


def ood_report(model: nn.Module | str | Path, fooling: FoolingSet | Sequence[FoolingSet], *,
               detectors: Sequence[str] = DEFAULT_DETECTORS, in_distribution: str = "mnist-test",
               natural_images: int | None = None, fit_on: str = "mnist-train",
               fit_images: int = 20000, min_confidence: float = 0.9,
               champions_only: bool = False, out: str | Path | None = None,
               progress: bool = True, **module_args: Any) -> OodReport:
    """How well pytorch-ood's detectors tell ``fooling`` images (and uniform and Gaussian
    noise, always added) from natural ones: AUROC, AUPR and FPR at 95 % TPR per detector
    and set (``report.rows``; ``report.auroc(detector, set)``). Needs ``evofool[ood]``.

    Args:
        model: a ``torch.nn.Module`` (fed as ``module_args`` say: ``input_shape``,
            ``class_names``, ``mean``, ``std``, ``outputs``, as ``evofool.evolve`` takes
            them) or a model spec or file.
        fooling: runs, n+1 experiments (``Run``, ``Experiment`` or their directories) or
            exports (a ``.pt``, or a directory with ``fooling.pt``).
        detectors: which (msp, maxlogit, energy, entropy, odin, mahalanobis, vim, knn).
        in_distribution: natural images the detectors should keep: "mnist-test" or a
            ``.pt`` with an ``images`` uint8 tensor; ``natural_images``: its first N only.
        fit_on: labelled natural images the feature detectors (mahalanobis, vim, knn) are
            fit on; ``fit_images``: its first N.
        min_confidence: the fooling images kept: at least this confident.
        champions_only: only runs' current champions, not every champion they kept.
        out: where the report is written (default: the run's ``ood/`` where ``fooling`` is
            one run; else nowhere).
        progress: each stage on stderr.

    Example:
        >>> report = evofool.ood_report(net, run, input_shape=(1, 28, 28),
        ...                             detectors=["energy", "mahalanobis"])  # doctest: +SKIP
        >>> report.auroc("energy", run.run_dir.name)  # doctest: +SKIP
        0.91

    Raises:
        EvofoolError: an unknown detector, a bad count or confidence, a set that cannot
            be read, a model that cannot take the images.
    """
    from evofool.analysis.ood_report import evaluate, write_report
    from evofool.ood.detectors import DETECTORS, FEATURE_DETECTORS
    from evofool.run.image_sets import NOISE, load_image_set

    unknown = [name for name in detectors if name not in DETECTORS]
    if unknown or not detectors:
        raise EvofoolError(f"detectors (--detectors): unknown {', '.join(unknown) or '(none)'}"
                           f" (known: {', '.join(DETECTORS)})")
    _check_counts(natural_images=natural_images, fit_images=fit_images)
    sets = _fooling_specs(fooling)
    classifier, say = _prepared(model, module_args, min_confidence, progress, "ood",
                                f"{in_distribution} and the image sets")
    shape = classifier.input_spec.shape
    natural = load_image_set(in_distribution, shape=shape, limit=natural_images)
    image_sets = [load_image_set(spec, shape=shape, min_confidence=min_confidence,
                                 include_history=not champions_only) for spec in sets]
    image_sets += [load_image_set(kind, shape=shape, limit=len(natural)) for kind in NOISE]
    fit_set = None
    if any(name in FEATURE_DETECTORS for name in detectors):
        fit_set = load_image_set(fit_on, shape=shape, limit=fit_images)
    report = evaluate(classifier, in_distribution=natural, ood_sets=image_sets,
                      detectors=list(detectors), fit_set=fit_set, say=say)
    if (where := report_dir(out, sets, "ood")) is not None:
        write_report(report, where)
    return report


def defend(model: nn.Module | str | Path, fooling: FoolingSet | Sequence[FoolingSet], *,
           defenses: Sequence[str] = DEFAULT_DEFENSES, in_distribution: str | None = "mnist-test",
           natural_images: int | None = None, min_confidence: float = FOOLED_THRESHOLD,
           champions_only: bool = False, detect: bool = False, out: str | Path | None = None,
           progress: bool = True, **module_args: Any) -> DefenseReport:
    """``fooling`` images scored undefended and under each input defence: the share still
    at >= 0.99 and >= 0.5 in their fooled class, their median confidence, and the clean
    accuracy each defence leaves on natural images (``report.rows``;
    ``report.row(defence, set)``).

    Args:
        model, fooling, min_confidence, champions_only, progress, module_args: as
            ``ood_report``.
        defenses: ``name:parameter=value,...`` each (noise_average, jpeg, bit_depth,
            median; see ``evofool defend --help``).
        in_distribution: labelled natural images for clean accuracy ("mnist-test", a
            ``.pt`` with ``images`` and ``labels``), or None; ``natural_images``: the
            first N.
        detect: also feature squeezing as a detector (AUROC of the largest change of
            prediction under the defences; needs ``evofool[ood]``).
        out: as ``ood_report`` (default: the run's ``defend/``).

    Example:
        >>> report = evofool.defend(net, run, defenses=["jpeg:quality=25"],
        ...                         input_shape=(1, 28, 28))  # doctest: +SKIP
        >>> report.row("jpeg:quality=25", str(run.run_dir))["clean_accuracy"]  # doctest: +SKIP
        0.97

    Raises:
        EvofoolError: a defence that is unknown, badly set or refused by the model, a bad
            count or confidence, a set that cannot be read.
    """
    from evofool.analysis.defense_report import defend as score_under_defenses
    from evofool.analysis.defense_report import write_report
    from evofool.defenses import DefenseChain, defense_settings
    from evofool.run.image_sets import load_image_set

    settings = [defense_settings(spec, f"defense {spec}") for spec in defenses]
    _check_counts(natural_images=natural_images)
    sets = _fooling_specs(fooling)
    classifier, say = _prepared(model, module_args, min_confidence, progress, "defend",
                                f"{in_distribution} and the fooling sets")
    DefenseChain(settings, classifier.input_spec)  # one line for a defence it refuses
    shape = classifier.input_spec.shape
    natural = None if in_distribution in (None, "none") else load_image_set(
        in_distribution, shape=shape, limit=natural_images)
    image_sets = [load_image_set(spec, shape=shape, min_confidence=min_confidence,
                                 include_history=not champions_only) for spec in sets]
    report = score_under_defenses(classifier, fooling_sets=image_sets, natural=natural,
                                  defenses=settings, detect=detect, say=say)
    if (where := report_dir(out, sets, "defend")) is not None:
        write_report(report, where)
    return report


def transfer(run: str | Path | Run, models: Sequence[nn.Module | str | Path], *,
             out: str | Path | None = None, device: str = "auto") -> TransferMatrix:
    """Do a run's champions fool other models? The confidence each model (the run's own
    first, then ``models``) gives each champion's fooled class, and top-1 agreement
    (``matrix.agreement(row)``). Written to ``out`` (default: the run's ``transfer/``).

    Args:
        run: a ``Run`` or run directory.
        models: model specs, files or modules; a module is fed the run's images and takes
            its class names (as many outputs as the run has classes); its row is named
            ``module:CLASS-HASH (models[i])``.
        device: "auto", "cpu", "cuda", "cuda:N" or "mps".

    Example:
        >>> matrix = evofool.transfer(run, ["mnist-lenet", other_net])  # doctest: +SKIP
        >>> matrix.agreement(2)  # row 0: the run's own model; 2: other_net  # doctest: +SKIP
        0.4

    Raises:
        EvofoolError: not a run, no champions, or a model that cannot take the run's
            images or whose classes differ.
    """
    from evofool.analysis.transfer import transfer_matrix, write_transfer
    from evofool.run.stored import StoredRun

    run_dir = Path(getattr(run, "run_dir", run))
    fed: dict[str, Any] = {}
    if not all(isinstance(model, (str, Path)) for model in models):
        stored = StoredRun(run_dir)  # modules take the run's images and class names
        try:
            fed = {"input_shape": stored.image_shape, "class_names": stored.class_names}
        finally:
            stored.close()
    chosen = [_classifier_or_spec(model, fed) for model in models]
    for index, classifier in enumerate(chosen):
        if not isinstance(classifier, str):  # its row says which argument it is: two
            classifier.name += f" (models[{index}])"  # modules of one class share a name
    matrix = transfer_matrix(run_dir, chosen, device=device)
    write_transfer(matrix, Path(out) if out is not None else run_dir / "transfer")
    return matrix


def _prepared(model: nn.Module | str | Path, module_args: dict[str, Any],
              min_confidence: float, progress: bool, command: str, what: str):
    """The classifier in eval mode and the stage printer, after the checks every command
    makes first."""
    from evofool.models import load_classifier

    if not 0 <= min_confidence <= 1:
        raise EvofoolError(f"min_confidence (--min-confidence) must be in [0, 1], got "
                           f"{min_confidence}")

    def say(message: str) -> None:
        if progress:
            print(f"evofool: {command}: {message}", file=sys.stderr, flush=True)

    say(f"loading {model if isinstance(model, (str, Path)) else type(model).__name__}, {what}")
    classifier = _classifier_or_spec(model, module_args)
    return (load_classifier(classifier) if isinstance(classifier, str) else classifier
            ).eval(), say


def _classifier_or_spec(model: nn.Module | str | Path, fed: dict[str, Any]) -> Classifier | str:
    """A module as a classifier over a private copy (not held under a name: another of its
    class would replace it there), a spec or file as its string."""
    if isinstance(model, (str, Path)):
        return str(model)
    return module_classifier(model, **fed)


def _check_counts(**counts: int | None) -> None:
    for name, value in counts.items():
        if value is not None and value < 1:
            raise EvofoolError(f"{name} (--{name.replace('_', '-')}) must be positive, "
                               f"got {value}")


def _fooling_specs(fooling: FoolingSet | Sequence[FoolingSet]) -> list[str]:
    """The sets as the specs ``load_image_set`` reads: a ``Run`` or ``Experiment`` as its
    directory."""
    items = [fooling] if isinstance(fooling, (str, Path)) or hasattr(fooling, "run_dir") \
        else list(fooling)
    if not items:
        raise EvofoolError("fooling: no image sets given")
    return [str(getattr(item, "run_dir", item)) for item in items]


def report_dir(out: str | Path | None, sets: list[str], name: str) -> Path | None:
    """``out``; else ``RUN_DIR/name`` where the sets are one run; else None."""
    if out is not None:
        return Path(out)
    if len(sets) == 1 and is_run_dir(Path(sets[0])):
        return Path(sets[0]) / name
    return None
