"""L2: holdout metrics, fairness by group, explanations (booster contributions, SHAP, permutation importance) and
the curves and slices that reports draw."""
