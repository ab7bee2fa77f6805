"""Inventory: warehouses, the stock ledger, reservations of orders, allocation, flash-sale
quotas and channel sync.

* ``models`` — the area's tables (warehouses, stock_levels, stock_movements,
  stock_reservations, flash sales, channel shares and listings);
* ``service`` — every stock change (receive, adjust, count, transfer, reserve/release/ship an
  order), each written as a movement; ``check`` verifies the ledger;
* ``locking`` — how a unit of work takes the locks that make overselling impossible;
* ``allocation`` (pure) — which warehouse(s) an order is taken from;
* ``channel_sync`` — what each channel publishes (pure rules + the listings to push);
* ``flash`` — flash-sale quotas (秒杀); ``cli`` / ``flash_cli`` — ``storeops stock`` /
  ``storeops flash``.
"""
