"""The audit engine: probe loader, probe runner, planner, parallel collection, journal, re-parsing."""
