"""Source readers: HTTP APIs (and, later, landing folders and databases)."""
