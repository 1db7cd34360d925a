"""A run's persistent record: SQLite (archive, history, metadata) plus PNG files."""

from evofool.store.run_store import SCHEMA_VERSION, Champion, GenomeRow, RunStore, is_run_dir
from evofool.store.versioned_store import StoreError, VersionedStore

__all__ = ["SCHEMA_VERSION", "Champion", "GenomeRow", "RunStore", "StoreError",
           "VersionedStore", "is_run_dir"]
