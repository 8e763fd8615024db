"""L3: steps composed from the domain layers — the retraining policy (champion vs challenger) and the demo loop."""
