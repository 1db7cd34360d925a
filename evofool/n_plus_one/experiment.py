"""The paper's n+1 experiment (section 3.3), unattended: evolve, add garbage, retrain, repeat.

Round r evolves fooling images against model r (round 0: the original
n-class model) and, with held_out, a second, independent run whose images no
model trains on; measures model r, both runs and the last round's held-out
images; adds the first run's fooling images to the garbage class n+1, and
trains model r+1 on the natural images (``data``: MNIST or an image folder, at
the model's shape) plus every garbage image so far. Each
phase leaves a durable mark (a finished run, a round row with its images in
one transaction, a model file then its training row), so a resumed experiment
redoes at most the phase in hand, and a round's evolution resumes mid-run
through the run's own checkpoints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from evofool.archive.confidence import (
    FOOLED_THRESHOLD,
    classes_fooled,
    generations_to_all_fooled,
    median_confidence,
)
from evofool.data import LabelledImages, load_labelled_images
from evofool.errors import EvofoolError
from evofool.models import load_classifier
from evofool.n_plus_one.config import (
    RetrainConfig,
    load_retrain_config,
    retrain_config_from_dict,
)
from evofool.n_plus_one.garbage import collect_garbage, garbage_share, natural_fooling
from evofool.n_plus_one.held_out import held_out_images, measure_held_out
from evofool.n_plus_one.report import round_table, write_report
from evofool.n_plus_one.retraining import check_retrainable, train_round
from evofool.n_plus_one.store import RetrainStore, RoundRecord
from evofool.run.builder import build_classifier
from evofool.run.directory import RunDirectory, resumed_config
from evofool.run.job import EvolutionJob
from evofool.run.outputs import write_config
from evofool.run.stored import StoredRun
from evofool.store import RunStore, is_run_dir
from evofool.store.retrain_layout import (
    held_out_run_dir,
    is_retrain_dir,
    round_model_path,
    round_run_dir,
)
from evofool.training.fitting import test_accuracy

MNIST_SHAPE = (1, 28, 28)  # what experiments recorded before they kept their image shape


class RetrainExperiment:
    """One experiment directory; ``start`` or ``resume`` makes one ready to ``run``."""

    def __init__(self, config: RetrainConfig, directory: RunDirectory, store: RetrainStore, *,
                 progress: bool) -> None:
        self.config = config
        self.run_directory = directory
        self.directory = directory.path
        self.store = store
        self.progress = progress
        self.natural_names: tuple[str, ...] = tuple(store.get_meta("class_names"))
        self.image_shape: tuple[int, int, int] = tuple(store.get_meta("image_shape")
                                                       or MNIST_SHAPE)
        self._natural: LabelledImages | None = None

    @classmethod
    def start(cls, config: RetrainConfig, directory: Path, *,
              progress: bool = True) -> RetrainExperiment:
        """A new experiment in a new or empty ``directory``.

        Raises:
            EvofoolError: an occupied directory, unreadable ``data``, a round-0 model
                without a linear output layer or whose classes are not the data's, an
                encoding that draws at another size, or GA targets out of range.
        """
        directory = Path(os.path.abspath(directory))  # its round runs name their models
        config = config.with_absolute_inputs()         # and inputs from anywhere
        RunDirectory.check_unused(directory, is_kind=is_retrain_dir, kind="experiment")
        classifier = build_classifier(dataclasses.replace(config.evolution, model=config.model))
        check_retrainable(classifier, config)
        shape = classifier.input_spec.shape
        natural = load_labelled_images(config.data, shape).labelled_as(
            classifier.class_names).with_test_images(config.training.test_images)
        run_directory = RunDirectory.create(directory, is_kind=is_retrain_dir, kind="experiment")
        with run_directory.released_on_error():
            store = RetrainStore(directory, create=True)
            store.set_meta(config=config.to_dict(), class_names=list(classifier.class_names),
                           image_shape=list(shape), status="running", created=time.time())
            write_config(config, directory)
        experiment = cls(config, run_directory, store, progress=progress)
        experiment._natural = natural
        return experiment

    @property
    def natural(self) -> LabelledImages:
        """The natural images, at the models' shape, labelled as the models' classes."""
        if self._natural is None:
            self._natural = load_labelled_images(self.config.data, self.image_shape).labelled_as(
                self.natural_names).with_test_images(self.config.training.test_images)
        return self._natural

    @classmethod
    def resume(cls, directory: Path, overrides: list[str] = (), *, force: bool = False,
               progress: bool = True) -> RetrainExperiment:
        """Continue an experiment; ``--set rounds=K`` with ``force`` extends it.

        Raises:
            RunBusyError: another process is writing the experiment.
            EvofoolError: an edited config.yaml, or a change without ``force``.
        """
        directory = Path(os.path.abspath(directory))
        run_directory = RunDirectory.reopen(directory, is_kind=is_retrain_dir, kind="experiment")
        with run_directory.released_on_error():
            store = RetrainStore(directory)
            stored = retrain_config_from_dict(store.get_meta("config"))
            try:
                run_directory.check_config_file(
                    stored.to_dict(), lambda path: load_retrain_config(path).to_dict())
                config = resumed_config(stored.to_dict(), overrides,
                                        parse=retrain_config_from_dict, force=force,
                                        what="experiment")
            except EvofoolError:
                store.close()
                raise
            store.set_meta(config=config.to_dict(), status="running")
            write_config(config, directory)
        print(f"evofool: resuming experiment {directory} after "
              f"{len(store.rounds())} finished round(s)", file=sys.stderr)
        return cls(config, run_directory, store, progress=progress)

    def run(self) -> list[dict[str, Any]]:
        """Every remaining phase of every round; returns the per-round table."""
        try:
            for round_index in range(self.config.rounds + 1):
                if round_index not in {record.round for record in self.store.rounds()}:
                    if not (self._evolve(round_index) and (
                            not self.config.held_out.enabled
                            or self._evolve(round_index, held_out=True))):
                        self.store.set_meta(status="interrupted")
                        print(f"evofool: experiment stopped in round {round_index}; continue "
                              f"with `evofool resume {self.directory}`", file=sys.stderr)
                        return self.table()
                    self._record_round(round_index)
                if round_index < self.config.rounds and \
                        round_index + 1 not in self.store.trainings():
                    train_round(self.config, self.directory, self.store, round_index + 1,
                                natural=self.natural, natural_names=self.natural_names,
                                previous_model=self.model_spec(round_index),
                                progress=self.progress)
            table = self.table()
            write_report(self.directory, table, natural_classes=len(self.natural_names))
            self.store.set_meta(status="finished")
            return table
        except BaseException:
            self.store.set_meta(status="interrupted")
            print(f"evofool: experiment stopped; continue with `evofool resume "
                  f"{self.directory}`", file=sys.stderr)
            raise
        finally:
            self.store.close()
            self.run_directory.release()

    def table(self) -> list[dict[str, Any]]:
        """One row per round (evofool.n_plus_one.report.round_table)."""
        return round_table(self.store, self.config.held_out.detectors
                           if self.config.held_out.enabled else [])

    def model_spec(self, round_index: int) -> str:
        if round_index == 0:
            return self.config.model
        return str(round_model_path(self.directory, round_index))

    def _evolve(self, round_index: int, *, held_out: bool = False) -> bool:
        """Run (or finish) the round's evolution, or its held-out run; False if a signal
        stopped it."""
        run_dir = (held_out_run_dir if held_out else round_run_dir)(self.directory, round_index)
        if is_run_dir(run_dir):
            store = RunStore(run_dir, read_only=True)
            status = store.get_meta("status")
            store.close()
            if status == "finished":
                return True
            # its model by this experiment's path: a copied or moved experiment's own file
            # (the model fingerprint still has to match the one the run started with)
            model = json.dumps(self.model_spec(round_index))
            job = EvolutionJob.resume(run_dir, [f"model={model}"], progress=self.progress)
        else:
            what = "held-out images" if held_out else "evolving"
            print(f"evofool: round {round_index}/{self.config.rounds}: {what} against "
                  f"{self.model_spec(round_index)}", file=sys.stderr)
            config = self.config.round_run_config(round_index, self.model_spec(round_index),
                                                  len(self.natural_names), held_out=held_out)
            job = EvolutionJob.start(config, run_dir,
                                     progress=self.progress)
        job.run()
        return job.stop_signal is None

    def _record_round(self, round_index: int) -> None:
        natural = len(self.natural_names)
        classifier = load_classifier(self.model_spec(round_index))
        accuracy = test_accuracy(classifier, self.natural.test_images, self.natural.test_labels)
        share = garbage_share(classifier, self.store.garbage_pixels(
            round_index, self.image_shape), natural)
        run_dir = round_run_dir(self.directory, round_index)
        run = StoredRun(run_dir, label=f"round-{round_index:02d}")
        try:
            champions, history = natural_fooling(run, natural)
            generations = run.store.get_meta("generations")
            wall_seconds = run.store.get_meta("wall_seconds")
            added = collect_garbage(run, champions, history, round_index=round_index,
                                    settings=self.config.garbage)
        finally:
            run.close()
        held_out = held_out_measures = None
        if self.config.held_out.enabled:
            held_out = held_out_images(held_out_run_dir(self.directory, round_index),
                                       round_index, natural, self.config.garbage,
                                       self.image_shape)
            held_out_measures = measure_held_out(
                classifier, held_out, self.store.held_out_pixels(round_index - 1,
                                                                 self.image_shape),
                garbage_class=natural, settings=self.config.held_out, natural=self.natural)
        confidences = [c.confidence for c in champions]
        previous_total = sum(r.garbage_added for r in self.store.rounds())
        record = RoundRecord(
            round=round_index, model=self.model_spec(round_index), test_accuracy=accuracy,
            earlier_garbage_share=share,
            median_confidence=median_confidence(confidences),
            classes_at_099=classes_fooled(confidences),
            generations_to_all_099=generations_to_all_fooled(history, natural),
            generations=generations, garbage_added=len(added),
            garbage_total=previous_total + len(added), evolve_seconds=wall_seconds or 0.0,
            **(held_out_measures or {}))
        self.store.record_round(record, added, held_out)
        share_text = "n/a" if share is None else f"{share:.3f}"
        print(f"evofool: round {round_index}/{self.config.rounds}: test accuracy "
              f"{accuracy:.4f}, earlier garbage called garbage {share_text}, median "
              f"confidence {record.median_confidence:.4f}, {record.classes_at_099}/{natural} "
              f"classes >= {FOOLED_THRESHOLD:g}, +{len(added)} garbage images", file=sys.stderr)
