"""L0: entities, references, errors and settings. Imports nothing else of conveyor."""
