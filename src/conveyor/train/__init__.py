"""L2: run tracking for the user's own code, and AutoML (an Optuna search over scikit-learn pipelines)."""
