"""A sweep of jobs: checking every job and network before the first trains (sweeps, networks),
progress lines and outcome counts (sweeps), tune=lr's screening and choices and seeds=auto's looks
(tuning, planning), the jobs' run order (order) and the launchers' settings (cluster). Imports
analysis/ and runs/, and model/ and data/ only where a sweep builds its networks (networks, lazily,
with torch); never training/."""
