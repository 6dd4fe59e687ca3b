"""Studies: identities, result files, the guard, sweeps, lr tuning and Slurm. No torch here."""
