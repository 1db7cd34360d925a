"""A run's lifecycle: built from its config (builder), stepped and stopped (job), recorded
(recorder, outputs, metrics, progress), checkpointed, and read back (layout, stored).

Nothing is re-exported here, so that reading a run (``stored``, ``layout``) never loads
the code that builds one."""
