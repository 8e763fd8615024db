"""L2: model versions, their packages and signatures, aliases (champion/challenger), lineage and the audit trail."""
