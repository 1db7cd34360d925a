"""What ``ood`` and ``defend`` score unless told: shared by evofool.api.analyses and the
commands' help, and free of torch, so that ``evofool --help`` stays quick."""

DEFAULT_DETECTORS = ("msp", "maxlogit", "energy", "entropy", "odin", "mahalanobis", "vim", "knn")
DEFAULT_DEFENSES = ("noise_average:sigma=0.1,samples=16", "noise_average:sigma=0.3,samples=16",
                    "jpeg:quality=75", "jpeg:quality=25", "bit_depth:bits=4", "bit_depth:bits=1",
                    "median:window=2", "median:window=3")
