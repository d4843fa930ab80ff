"""The road's Luigi tasks, one module per step: extract → stage → load → mart (refresh, export) → check → report."""
