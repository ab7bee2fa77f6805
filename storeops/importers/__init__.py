"""Bringing exports into the database: every input row is stored or rejected with a reason.

- ``reading``: bytes → text (gzip by magic bytes, UTF-8 else GB18030) → all-text Polars frame
  (CSV, or XLSX through calamine).
- ``parsing``: exact column-wise parsing of amounts, prices, counts, times and days.
- ``mapping``: which column is which field (the JD export preset, YAML mappings).
- ``order_rows``: checks of order rows → sale lines, refund lines, rejects;
  ``storeops.orders.grouping`` then groups lines into orders.
- ``order_store``: bulk writes of orders, lines, refunds, products, customers.
- ``tables``: products, traffic and ads files (upsert on their natural key).
- ``summary``: the import summary and the ``<file>.rejects.csv`` beside the input.
- ``service.import_file``: one file, one transaction; used by the CLI (``cli``) and the web.
"""
