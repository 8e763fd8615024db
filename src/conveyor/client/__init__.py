"""Remote mode: the project sub-APIs over a conveyor server's /api/v1."""
