"""A run's lifecycle: configured (config), built from its config (builder), stepped and
stopped (job), recorded (recorder, outputs, metrics, progress), checkpointed, and read back
(stored; image_sets reads images from runs, exports and files).

Nothing is re-exported here, so that reading a run (``stored``) never loads the code that
builds one."""
