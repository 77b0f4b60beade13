"""Transformations: the dbt project (``dbt/``) run by Airflow through astronomer-cosmos.

- :mod:`~scrollintel.transform.project`: where the dbt project and its manifest live, building
  the manifest (``dbt parse``), and what the manifest says (raw sources, marts).
- :mod:`~scrollintel.transform.dagspec`: the ``transform_warehouse`` DAG's schedule (the raw
  Assets its sources are), mart Assets, tags, doc and the cosmos task group.
- :mod:`~scrollintel.transform.session`: the masking salt, from its Airflow connection into the
  dbt session at run time (never into a file, a rendered field or a log).

Importing this package is cheap; cosmos and dbt are imported by the functions that need them.
"""
