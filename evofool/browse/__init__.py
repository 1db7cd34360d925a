"""The archive browser: ``evofool browse``, a read-only local web gallery of runs."""

from evofool.browse.app import create_app
from evofool.browse.catalog import RunCatalog

__all__ = ["RunCatalog", "create_app"]
