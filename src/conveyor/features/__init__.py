"""L2: preprocessing that travels inside the saved model pipeline, feature selection, and the feature store (views,
point-in-time joins in :mod:`~conveyor.features.offline`, online stores in :mod:`~conveyor.features.online`)."""
