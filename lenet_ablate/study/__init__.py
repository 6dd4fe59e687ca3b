"""A sweep of jobs: checking every job and network before the first trains (sweeps, networks),
progress lines and outcome counts (sweeps), tune=lr's screening and choices (tuning, planning) and
the launchers' settings (cluster). Imports analysis/ and runs/; torch only where a sweep builds its
networks (networks, lazily)."""
