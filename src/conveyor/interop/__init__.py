"""Working with other tools' data: MLflow (``conveyor.interop.mlflow``)."""
