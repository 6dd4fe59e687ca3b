"""One training: the LightningModule and its divergence checks (module), optimizers and schedules
(optim), random streams (seeding), a job end to end (job), the epoch clock (clock), portable kernels
(portable), the numeric environment (numerics), quiet libraries (quiet) and the stop check at every
batch (stop_check). Imports model/, data/ and runs/."""
