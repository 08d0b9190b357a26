"""The practitioner's jobs, callable from Python (the ``compare`` and ``resample`` commands
call these):

- :func:`~deepbalance.workflows.compare.compare_images`: which oversampling method works on a
  folder (or CSV) of images, with a report that opens with a recommendation
  (:mod:`~deepbalance.workflows.verdict`);
- :func:`~deepbalance.workflows.resample.resample_folder`: a balanced copy of an image folder.
"""

from .compare import (
    CompareResult,
    Estimate,
    PreparedComparison,
    compare_images,
    estimate_seconds,
    prepare_comparison,
)
from .resample import ResampleResult, resample_folder
from .verdict import Verdict, make_verdict, write_compare_report

__all__ = [
    "CompareResult",
    "Estimate",
    "PreparedComparison",
    "ResampleResult",
    "Verdict",
    "compare_images",
    "estimate_seconds",
    "make_verdict",
    "prepare_comparison",
    "resample_folder",
    "write_compare_report",
]
