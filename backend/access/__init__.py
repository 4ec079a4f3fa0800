"""Access: delegations to trusted persons and the access history."""
