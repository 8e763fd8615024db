"""conveyor-test-plugin: what a third party adds to conveyor through entry points (see pyproject.toml)."""
