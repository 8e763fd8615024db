"""One module per section of conveyor.yaml; each defines ``SECTION`` (its name is the module's name)."""
