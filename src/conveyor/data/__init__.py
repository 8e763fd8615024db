"""L2: dataset versions: ingestion, content-addressed storage, profiles and drift-ready statistics."""
