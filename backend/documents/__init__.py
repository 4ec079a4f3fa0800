"""Documents: upload recognition and cleaning, and encrypted blob storage."""
