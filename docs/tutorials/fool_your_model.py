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
# # Fool your own model
#
# A small CNN, defined and trained here, then fooled twice: by CPPN images (smooth, regular
# patterns) and by direct ones (one gene per pixel). The champions and the confidence curves
# show inline; the images go out as an ImageFolder dataset; a simple OOD detector and a JPEG
# defence are tried on them. On 2 CPU cores it runs in a few minutes at the budget below
# (the test suite runs it with a smaller one).

# %% tags=["parameters"]
TRAIN_IMAGES = 20000  # MNIST digits the CNN trains on
GENERATIONS = 300  # per encoding

# %%
import torch
from torch import nn

import evofool
from evofool.data import load_mnist

torch.manual_seed(0)
mnist = load_mnist()  # uint8 arrays; downloaded (or read from a wheel) once, then cached
images = torch.from_numpy(mnist.train_images[:TRAIN_IMAGES]).float().div(255).unsqueeze(1)
labels = torch.from_numpy(mnist.train_labels[:TRAIN_IMAGES]).long()

# %% [markdown]
# ## A model of your own
#
# Any `nn.Module` that takes images in [0, 1] and gives logits will do. Yours might come from
# `net.load_state_dict(torch.load(...))`; this one is trained for one epoch.

# %%
class SmallCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


net = SmallCnn()
optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
for start in range(0, TRAIN_IMAGES, 64):
    loss = nn.functional.cross_entropy(net(images[start:start + 64]), labels[start:start + 64])
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
test = torch.from_numpy(mnist.test_images[:2000]).float().div(255).unsqueeze(1)
with torch.no_grad():
    accuracy = (net(test).argmax(1).numpy() == mnist.test_labels[:2000]).mean()
print(f"test accuracy {accuracy:.3f}")

# %% [markdown]
# ## Fooling it
#
# One call each. The model is scored as a private copy: `net` keeps its weights and mode.

# %%
names = [str(digit) for digit in range(10)]
cppn = evofool.evolve(net, "mnist_cppn", input_shape=(1, 28, 28), class_names=names,
                      generations=GENERATIONS, progress=False)
direct = evofool.evolve(net, "mnist_direct", input_shape=(1, 28, 28), class_names=names,
                        generations=GENERATIONS, progress=False)
for run in (cppn, direct):
    print(run)

# %%
cppn.montage()

# %%
direct.montage()

# %%
cppn.curve()

# %% [markdown]
# ## A fooling dataset
#
# The champions at 0.99 or above (none below it), as an ImageFolder tree any PyTorch code
# reads, with a manifest. The dataset's targets are -1, pytorch-ood's mark for OOD.

# %%
import tempfile
from pathlib import Path

out = Path(tempfile.mkdtemp()) / "fooling"
dataset = cppn.export(out, format="imagefolder", min_confidence=0.0)
print(len(dataset), "images;", sorted(path.name for path in out.iterdir())[:3])

# %% [markdown]
# ## Does an OOD detector see them?
#
# The energy score (Liu et al., 2020): minus the log-sum-exp of the logits, higher for what
# looks out of distribution. Fooling images are chosen for one huge logit, which is what
# this detector (like the maximum softmax) reads as *in* distribution.

# %%
fooling = torch.cat([cppn.images(), direct.images()])
with torch.no_grad():
    natural_energy = -torch.logsumexp(net(test), dim=1)
    fooling_energy = -torch.logsumexp(net(fooling), dim=1)
caught = (fooling_energy > natural_energy.quantile(0.95)).float().mean()
print(f"flagged at 95 % of digits kept: {caught:.0%} of {len(fooling)} fooling images")

# %% [markdown]
# ## Does JPEG undo them?
#
# The same images scored through a JPEG round trip at quality 75, a defence often proposed.

# %%
from evofool.evaluation.scorer import ImageScorer
from evofool.models.in_memory import module_classifier

classifier = module_classifier(net, input_shape=(1, 28, 28), class_names=names)
plain = ImageScorer(classifier, device="cpu").score(fooling)
jpeg = ImageScorer(classifier, device="cpu", defenses=["jpeg:quality=75"]).score(fooling)
targets = torch.tensor([c.class_index for c in cppn.champions + direct.champions])
rows = torch.arange(len(fooling))
print(f"median confidence: plain {plain[rows, targets].median():.3f}, "
      f"through JPEG {jpeg[rows, targets].median():.3f}")
