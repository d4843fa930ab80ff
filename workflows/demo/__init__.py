"""Generated demo sources: deterministic per (seed, ds), sized by [demo] size, with realistic defects."""
