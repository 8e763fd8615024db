"""L2: preprocessing that travels inside the saved model pipeline, and feature selection."""
