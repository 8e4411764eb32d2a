"""The artefact registry (artefacts.yaml) and its JSON Schema, shipped as package data.

Data only: no code, no imports; read by :mod:`scaling_utils.report.provenance`.
"""
