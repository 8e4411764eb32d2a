"""scaling_utils: published LLM scaling laws, compute arithmetic, fitting and plotting.

The ground floor (:mod:`~scaling_utils.laws`, :mod:`~scaling_utils.compute`) depends on numpy
only; :mod:`~scaling_utils.datasize`, :mod:`~scaling_utils.report` and
:mod:`~scaling_utils.plotting` build on it. Nothing here imports PyTorch.
"""

from scaling_utils import compute, datasize, laws, prompts, report

__all__ = ["compute", "datasize", "laws", "prompts", "report"]
__version__ = "0.1.0"
