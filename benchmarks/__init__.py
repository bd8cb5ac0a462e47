"""National-scale benchmark: a synthetic dataset in the real source layouts, and the script that times the pipeline on it."""
