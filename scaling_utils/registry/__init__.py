"""The artefact registry (artefacts.yaml) and its JSON Schema, shipped as package data."""
