"""The published laws and their arithmetic: Kaplan, Chinchilla, data-constrained, inference-aware, T2's sizes.

May import the ground floor only (``compute``, ``_validation``, ``_paths``).

One paper's law per module: :mod:`~scaling_utils.laws.chinchilla` (Hoffmann et al. 2022 and
its replication), :mod:`~scaling_utils.laws.kaplan` (Kaplan et al. 2020),
:mod:`~scaling_utils.laws.data_constrained` (Muennighoff et al. 2023),
:mod:`~scaling_utils.laws.allocation` (inference-aware, Sardana et al. 2024),
:mod:`~scaling_utils.laws.reconcile` (the embedding count of Pearce & Song 2024) and
:mod:`~scaling_utils.laws.datasize` (the data sizes of the article's T2). The laws and presets
are re-exported here: ``from scaling_utils.laws import HOFFMANN_2022``.
"""

from scaling_utils.laws.allocation import InferenceOptimum, inference_optimal
from scaling_utils.laws.chinchilla import (
    BESIROGLU_2024,
    CHINCHILLA_PRESETS,
    HOFFMANN_2022,
    HOFFMANN_2022_UNROUNDED,
    PUBLISHED_T1,
    ChinchillaLaw,
    PublishedExponents,
)
from scaling_utils.laws.data_constrained import MUENNIGHOFF_2023, DataConstrainedLaw
from scaling_utils.laws.kaplan import KAPLAN_2020, KAPLAN_2020_FIGURE1_C_C, KaplanLaw

__all__ = [
    "BESIROGLU_2024",
    "CHINCHILLA_PRESETS",
    "HOFFMANN_2022",
    "HOFFMANN_2022_UNROUNDED",
    "KAPLAN_2020",
    "KAPLAN_2020_FIGURE1_C_C",
    "MUENNIGHOFF_2023",
    "PUBLISHED_T1",
    "ChinchillaLaw",
    "DataConstrainedLaw",
    "InferenceOptimum",
    "KaplanLaw",
    "PublishedExponents",
    "inference_optimal",
]
