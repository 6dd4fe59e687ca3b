"""The analysis every layer above shares: collecting runs, configurations and experiments, the
statistics, the sequential design and its simulation. Below study/ (the sweeper plans with it) and
report/ (which renders it); imports neither. No torch here."""
