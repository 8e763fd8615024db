"""L2: metrics on a holdout, slices, fairness and explanations (permutation importance, SHAP)."""
