"""L2: preprocessing that travels inside the saved model pipeline (and, later, selection and a feature store)."""
