"""L2: model versions, their flavors (how each kind of model is stored, loaded, served and explained), signatures,
aliases (champion/challenger), lineage and the audit trail."""
