"""`conveyor server`: the team platform (the REST API under /api/v1 and the web UI at /)."""
