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
# # The n+1 experiment on an image folder
#
# The paper's defence (its section 3.3): evolve fooling images, add them to an extra
# "garbage" class, retrain, and see whether the next model can still be fooled. Here on an
# image folder of your own: a folder per class, RGB or grey, any size. This notebook makes a
# small one (four classes of coloured textures) so that it runs anywhere; point `FOLDER` at
# yours instead. At the budget below it takes a few minutes on 2 CPU cores (the test suite
# runs it with a smaller one).

# %% tags=["parameters"]
PER_CLASS = 60  # images per class in the made-up folder
EPOCHS = 10  # the small CNN's training, round 0 and every round after
GENERATIONS = 200  # evolution per round
ROUNDS = 2

# %%
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import evofool

work = Path(tempfile.mkdtemp())
FOLDER = work / "textures"
rng = np.random.default_rng(0)
colours = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 60, 200),
           "yellow": (220, 200, 40)}
for name, colour in colours.items():
    (FOLDER / name).mkdir(parents=True)
    for index in range(PER_CLASS):
        stripes = np.sin(np.arange(40) * rng.uniform(0.2, 0.8))[None, :, None] * 40
        pixels = np.array(colour) + stripes + rng.normal(0, 25, (40, 40, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            FOLDER / name / f"{index:03d}.png")
print(sorted(path.name for path in FOLDER.iterdir()))

# %% [markdown]
# ## Round 0's model
#
# A small CNN trained on the folder (what `evofool train small-cnn` does). Any model file or
# spec would do; a torchvision or timm model is fine-tuned each round instead
# (`training.mode="finetune"`), since evofool cannot build those anew.

# %%
from evofool.training.small_cnn_training import train_small_cnn

trained = train_small_cnn(str(FOLDER), work / "textures-cnn.pt", size=32, epochs=EPOCHS,
                          progress=False)
print(f"test accuracy {trained.test_accuracy:.3f}")

# %% [markdown]
# ## The experiment
#
# `folder_retrain` is the shipped config for this; settings override its keys.

# %%
experiment = evofool.retrain(work / "textures-cnn.pt", "folder_retrain", data=FOLDER,
                             out=work / "experiment", progress=False, rounds=ROUNDS, **{
                                 "evolution.generations": GENERATIONS,
                                 "training.epochs": EPOCHS, "garbage.per_round": 200})
for row in experiment.table:
    print({key: row[key] for key in ("round", "classes_at_0.99", "median_confidence",
                                     "test_accuracy", "garbage_added")})

# %%
experiment.figure()

# %% [markdown]
# Each round's run is an ordinary run: its champions show as any other's.

# %%
experiment.runs()[-1].montage()
