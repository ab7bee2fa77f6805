"""The store's numbers: KPI definitions, the analytics warehouse and the services over it.

* ``definitions`` — every metric once (labels, unit, kind, facts, cuts), funnel ranges, and
  :func:`~storeops.metrics.definitions.derive`, the one place ratios are computed.
* ``periods`` — day / ISO week / month labels, previous period, date and month parsing.
* ``warehouse`` — the per-store Parquet snapshot (rebuilt when ``stores.data_version``
  moves) and the per-process DuckDB connection.
* ``queries`` — base facts per group in ANSI SQL over the snapshot.
* ``service`` — ``kpi_summary``, ``kpi_series``, ``kpi_by``, ``funnel``,
  ``traffic_by_source``, ``compare``: what the CLI, the API and the cockpit call.
* ``targets`` — monthly targets and progress; ``render`` — JSON values; ``cli`` — commands.
"""
