"""L2b: run tracking for the user's own code, and AutoML: searches over the model families (one module each in
train/families), quality gates, evaluation and the training report."""
