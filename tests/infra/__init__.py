"""Real test infrastructure: OpenSSH hosts and a Slurm cluster in network namespaces."""
