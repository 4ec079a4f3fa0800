"""Professionals: the RPPS/FINESS directory and professional login."""
