"""Data quality: check declarations compiled to set-based SQL, their runs and results, the report's data."""
