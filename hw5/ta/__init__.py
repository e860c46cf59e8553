"""TA tools over a batch of submissions: read a Gradescope export (`exports`), grade every
submission (`grade_all`, verb ``hw5 grade-all``) and collect the written answers per question for
manual grading (`export_written`, verb ``hw5 export-written``)."""
from .exports import Submission, Submitter, open_export, read_export

__all__ = ["Submission", "Submitter", "open_export", "read_export"]
