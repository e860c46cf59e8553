"""How one submission's grading ended: the statuses shared by the sandbox, the coordinator's
result model and the TA tools (interface between the sandbox and the coordinator)."""

GRADED = "graded"
NOTEBOOK_TIMEOUT = "notebook-timeout"
KERNEL_DIED = "kernel-died"
MEMORY = "memory"
NOT_A_NOTEBOOK = "not-a-notebook"
INTERNAL_ERROR = "internal-error"
STATUSES = (GRADED, NOTEBOOK_TIMEOUT, KERNEL_DIED, MEMORY, NOT_A_NOTEBOOK, INTERNAL_ERROR)
