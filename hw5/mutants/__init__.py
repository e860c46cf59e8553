"""Reference builders, mutants and equivalent spellings of the HW5 builder functions
(``builders``), and notebook-level mutants and spellings of the training cells (``notebook``).

Used by the tests and by ``hw5 validate``. Trusted side only (not shipped with hw5kit).
"""
from .builders import (EQUIVALENT_SPELLINGS, MUTANTS, MUTANTS_BY_NAME,  # noqa: F401
                       REFERENCE_SOURCES, Mutant, apply_to_notebook, load_builder,
                       optimizer_source, wrong_optimizer)
from .notebook import (NOTEBOOK_MUTANTS, NOTEBOOK_MUTANTS_BY_NAME,  # noqa: F401
                       NOTEBOOK_SPELLINGS, NotebookMutant, apply_notebook_mutant)
