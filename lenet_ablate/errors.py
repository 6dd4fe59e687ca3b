"""The errors library code raises. Only the command line (lenet_ablate.cli, the report's and the
tools' __main__) turns them into a message and an exit status. Imports nothing."""


class LenetAblateError(Exception):
    """A user-facing error: the message says what, where and what is allowed."""

    exit_code = 2


class ConfigError(LenetAblateError, ValueError):
    """A config value that is not allowed; the message names key, value and what is allowed."""


class DataError(LenetAblateError, RuntimeError):
    """A data set that is missing, incomplete or corrupt; the message says how to get a good copy."""


class ResultExists(LenetAblateError):
    """A completed result of another configuration is in a job's folder (force=true replaces it)."""


class SweepError(LenetAblateError):
    """A sweep that cannot start: one of its jobs is invalid or would replace another's result."""


class ReportError(LenetAblateError):
    """Nothing to report, or the report cannot be written; the message says which."""

    exit_code = 1


class Interrupted(LenetAblateError):
    """Ctrl-C, SIGTERM or SIGHUP stopped a job; its summary says 'interrupted'. The exit status is
    128 + the signal (130 for Ctrl-C)."""

    def __init__(self, why: str, exit_code: int = 130) -> None:
        super().__init__(why)
        self.exit_code = exit_code


class WorkerKilled(LenetAblateError):
    """A worker process was killed from outside (SIGKILL, most often the out-of-memory killer); its
    jobs are recorded 'interrupted' and the same command continues the sweep."""

    exit_code = 137


class JobFailed(LenetAblateError):
    """A single run failed; its summary holds the error (already printed with the run's line)."""

    exit_code = 1


class Abort(BaseException):
    """A LenetAblateError on its way to the command line through Hydra, which turns any Exception
    raised in a callback into a warning, in a resolver into an interpolation error, and in the
    sweep into a traceback. A BaseException passes all three, as KeyboardInterrupt does."""

    def __init__(self, error: LenetAblateError) -> None:
        super().__init__(str(error))
        self.error = error


class DivergedError(RuntimeError):
    """The training loss became non-finite."""
