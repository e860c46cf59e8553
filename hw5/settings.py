"""Deployment settings of the grader (grading side only; never shipped to students).

What the assignment is (architecture, points, thresholds, messages) lives in `hw5.kit.spec`;
this module holds how grading runs: time and memory limits of the sandboxed kernel, the
unprivileged user it runs as, the Gradescope layout, and the whole-grade deadline.
Measured 2026-11-24 on 2 cores: a complete 5-model notebook takes 24-27 s in the sandbox.
"""
from __future__ import annotations

# --- The whole grade ----------------------------------------------------------------------------
# Gradescope stops an autograder after 10 minutes by default and the student then sees nothing:
# every step of one grade shares one deadline that ends a safety margin before that.
CONTAINER_TIMEOUT_S = 600
DEADLINE_MARGIN_S = 60
GRADE_DEADLINE_S = CONTAINER_TIMEOUT_S - DEADLINE_MARGIN_S
# Time kept for the trusted step (rebuilding and training the exported models) and the report:
# the sandbox must have ended this long before the whole-grade deadline.
TRUSTED_RESERVE_S = 200

# --- Sandbox: the student's kernel (hw5/sandbox) -----------------------------------------------
SANDBOX_TRAIN_IMAGES = 4_096  # MNIST rows the kernel loads (first N; see docs/design.md "What the export proves")
SANDBOX_TEST_IMAGES = 1_024  # first N test images
SANDBOX_SEED = 0
SANDBOX_CELL_TIMEOUT_S = 60  # one cell; on timeout the cell is interrupted, the rest still run
SANDBOX_CELL_KILL_GRACE_S = 10  # an interrupted cell that goes on this long: kernel killed
SANDBOX_BUILDER_TIMEOUT_S = 20  # describing one builder (all its probe calls)
SANDBOX_STARTUP_TIMEOUT_S = 60  # kernel start and the grader's prelude
SANDBOX_MAX_KERNELS = 3  # first run + restarts after a fatal cell
SANDBOX_RESTART_MIN_S = 30  # no restart with less time than this left before the deadline


def sandbox_budget_s() -> float:
    """Seconds the sandbox step may take when the coordinator gives no deadline."""
    return GRADE_DEADLINE_S - TRUSTED_RESERVE_S


# Memory. The real limit is read from the container's cgroup at grading time; these are the
# values without a limit (a laptop, CI) and the share kept for the processes around the kernel.
# Pretend the container has this many MB (simulating Gradescope's 768 MB on a bigger machine).
CONTAINER_MEMORY_ENV_VAR = "HW5_CONTAINER_MEMORY_MB"
SANDBOX_MEMORY_MB = 1536  # private memory of the kernel's whole process tree; above: killed
SANDBOX_DATA_LIMIT_MB = 2048  # RLIMIT_DATA per process: one huge allocation -> MemoryError
SANDBOX_RESERVED_MB = 220  # coordinator (~40 MB) + sandbox runner (~110 MB) + margin
SANDBOX_MIN_MEMORY_MB = 256  # never size the kernel below this, whatever the container says
SANDBOX_FILE_SIZE_MB = 256  # RLIMIT_FSIZE: largest file the kernel may write
SANDBOX_NPROC = 256  # RLIMIT_NPROC for a dedicated sandbox uid (threads count too)
SANDBOX_THREADS = 1  # OMP / TF intra-op threads

# Output and sizes.
SANDBOX_CELL_OUTPUT_BYTES = 1_000_000  # outputs kept per cell; the rest is dropped
SANDBOX_TOTAL_OUTPUT_BYTES = 5_000_000  # outputs kept for the whole notebook
SANDBOX_ZMQ_MAX_MESSAGE_BYTES = 8_000_000  # one kernel message larger than this is discarded
SANDBOX_NOTEBOOK_MAX_BYTES = 100_000_000  # submissions larger than this are rejected unread
SANDBOX_EXPORT_MAX_BYTES = 8_000_000  # one checkpoint of the export
SANDBOX_ENTRY_MAX_BYTES = 1_000_000  # one answer, variable or builder inside a checkpoint

# --- Who the kernel runs as ---------------------------------------------------------------------
# When the grader runs as root the kernel always runs as an unprivileged uid: the user this
# variable names (Gradescope: run_autograder sets it to SANDBOX_USER, created by setup.sh), else
# the throwaway uid below (no passwd entry needed). As non-root, see hw5.sandbox.isolation.
SANDBOX_USER_ENV_VAR = "HW5_SANDBOX_USER"
SANDBOX_USER = "hw5student"
# Throwaway numeric uids/gids (used by nothing else on a grading machine): each run takes one
# that no process uses, so parallel grades (grade-all) never kill each other's kernels. A named
# SANDBOX_USER is for one grade at a time (Gradescope): leave it unset for parallel grading.
SANDBOX_THROWAWAY_UIDS = range(64_000, 65_000)
# Set to 1 to run an untrusted notebook as the current non-root user without isolation.
SANDBOX_ALLOW_UNISOLATED_ENV_VAR = "HW5_ALLOW_UNISOLATED"

# --- What the grader builds once for every kernel (hw5/sandbox/fontcache.py) -------------------
# Where: this variable, else $XDG_CACHE_HOME/hw5, else ~/.cache/hw5. On Gradescope setup.sh
# builds it under the Gradescope root (GRADESCOPE_CACHE_DIR) and the grade reads it from there.
CACHE_DIR_ENV_VAR = "HW5_CACHE_DIR"
GRADESCOPE_CACHE_DIR = "cache"

# --- Gradescope ---------------------------------------------------------------------------------
# Visibility of the tests holding the grade-time training items ("visible", "after_due_date",
# "after_published" or "hidden"). Many courses prefer "after_due_date" for such hidden checks;
# Gradescope then hides the student's total until that date too.
TRAINING_VISIBILITY = "visible"
# Gradescope layout root for run_autograder (default /autograder; tests point it at a temp dir).
GRADESCOPE_ROOT_ENV_VAR = "HW5_GRADESCOPE_ROOT"
