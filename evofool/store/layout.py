"""A run directory's layout: every file name a run writes, in one place.

    config.yaml      the resolved config (defaults filled in, overrides applied)
    run.sqlite       the store: champions, their history, genomes, metadata (see store)
    checkpoints/     the last few checkpoints (see checkpoints)
    metrics.csv      one row per generation
    champions/       one PNG per class: class-<index>-<name>-<confidence>-g<genome id>.png
    genomes.json     CPPN champions as JSON records   (or genomes.npz for direct)
    summary.json     generations, evaluations, wall time, per-class results
    detector.pt      the fitted OOD detector a run evolves past (evaluator.detector)
    screen.csv       per generation, children screened and confirmed (evaluator.screen)
    writer.lock      held by the one process writing the run (evofool.store.writer_lock)
"""

CONFIG_FILE = "config.yaml"
STORE_FILE = "run.sqlite"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.csv"
CHAMPIONS_DIR = "champions"
GENOMES_JSON = "genomes.json"
GENOMES_NPZ = "genomes.npz"
SUMMARY_FILE = "summary.json"
DETECTOR_FILE = "detector.pt"
SCREEN_FILE = "screen.csv"
