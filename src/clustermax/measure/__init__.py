"""Pure mappers: parsed tool output -> measurements and findings (metric names from probes/*/probe.yaml)."""
