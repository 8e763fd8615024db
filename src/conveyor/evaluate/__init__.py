"""L2: metrics on a holdout (and, later, fairness, explanations, reports and quality gates)."""
