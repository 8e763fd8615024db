"""L2 monitoring: drift and performance detectors, data quality, alert rules; emits events, never trains."""
