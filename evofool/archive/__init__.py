"""What a run keeps: the champion of every class (champions), and what counts as fooled
(confidence).

Nothing is re-exported here, so that reading the threshold (``confidence``) never loads
torch."""
