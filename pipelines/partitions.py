"""Dagster partitions: one per millésime, the name of a folder data/raw/<YYYY>/."""

import dagster as dg

MILLESIME_PARTITIONS_NAME = "millesime"
MILLESIMES = dg.DynamicPartitionsDefinition(name=MILLESIME_PARTITIONS_NAME)
