"""Prescriptions: the e-prescription, from the prescriber to the pharmacy counter."""
