"""The ``evofool`` command line."""
