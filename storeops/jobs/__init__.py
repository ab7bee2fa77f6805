"""Background work on Huey: syncs, stock pushes, unpaid-order expiry."""
