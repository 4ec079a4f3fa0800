"""Portability and closure: download all my data, close my space."""
