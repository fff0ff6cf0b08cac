"""Live profilers: read a database's own workload statistics and turn them into findings."""
