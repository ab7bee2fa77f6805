"""The weekly and monthly operations reports (seed 002 §3.11): their figures, their XLSX and
PDF files, their schedule and their delivery. A report reads every other area (metrics,
promotions, stock, shipping), so it is an area of its own rather than a part of one of them."""
