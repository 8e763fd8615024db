"""Interoperability with other tools' stores and clients (MLflow: :mod:`conveyor.interop.mlflow`)."""
