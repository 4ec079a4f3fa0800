"""Identity: insured persons, registry import, NIR/INS, the card and its presentation."""
