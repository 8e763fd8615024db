"""L3: steps composed from the domain layers: the retraining policy (champion vs challenger) and the agent that
runs it on triggers (new data, drift, a schedule) and rolls back a promotion that does worse live."""
