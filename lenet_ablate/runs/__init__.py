"""A run on disk: its identity (job and configuration ids), its summary and other records
(atomic JSON), its lock, and the names of the files and folders of a sweep. Below every other
layer but the config; no torch here."""
