"""Exporters about cobudget rounds."""
