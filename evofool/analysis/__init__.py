"""What users do with finished runs: export fooling datasets, load them (datasets),
test transfer to other models, and draw figures (plots)."""
