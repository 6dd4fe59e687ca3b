"""One training: the LightningModule, optimizers and schedules, random streams, a job end to end."""
