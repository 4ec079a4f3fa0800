"""Cross-cutting pieces: settings, database, errors, auth, crypto, tokens."""
