"""Dagster asset definitions. Each asset calls plain functions of ``qpv_observatory``."""
