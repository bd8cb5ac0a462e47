"""The Dagster code location of the observatory (``dagster dev -m pipelines.definitions``)."""
