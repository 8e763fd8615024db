"""Helpers for conveyor's own test suite (not part of the public API)."""
