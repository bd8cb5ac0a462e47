"""QPV Observatory: indicators of the quartiers prioritaires versus their commune and EPCI.

Parsing and computation live here as plain functions; Dagster assets (``assets/``) only wire them.
"""
