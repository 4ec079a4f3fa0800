"""Secure messaging between a citizen's profile and a pharmacy or a professional."""
