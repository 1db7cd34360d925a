"""The paper's n+1 experiment: evolve, add the fooling images as a garbage class, retrain.

Import from the modules (``evofool.n_plus_one.experiment``, ``.config``): reading a retrain
directory (export, browse) must not pull in what runs one; its layout is
evofool.store.retrain_layout.
"""
