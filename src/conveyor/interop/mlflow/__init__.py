"""MLflow compatibility: the search grammar (:mod:`.filters`, :mod:`.search`) and the importer (:mod:`.importer`)."""
