"""Bringing exports into the database: every input row is stored or rejected with a reason.

- ``reading``: bytes → text (gzip by magic bytes, UTF-8 else GB18030) → all-text Polars
  frames, in chunks of ~16 MB cut between records (CSV, or XLSX through calamine); refuses
  compression bombs while inflating.
- ``parsing``: exact column-wise parsing of amounts, prices, counts, times and days.
- ``mapping``: which column is which field (the JD export preset, YAML mappings).
- ``order_rows``: checks of order rows → sale, refund and freight lines, rejects, excluded
  rows; ``storeops.orders.grouping`` then groups lines into orders.
- ``spill``: the checked rows of a file, held (in memory, or in temporary Arrow files by a
  hash of the order id) until they are written in groups of whole orders.
- ``order_store``: bulk writes of orders, lines, refunds, products, customers.
- ``tables``: products, traffic and ads files (upsert on their natural key).
- ``summary``: the import summary and the ``<file>.rejects.csv`` (in the working directory,
  or where ``--rejects`` says).
- ``service.import_file``: one file, one transaction (read and check every chunk first, then
  write); used by the CLI (``cli``) and the web.
"""
