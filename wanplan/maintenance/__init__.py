"""Keeping the state and the blob cache in order, outside plan and apply: forget or rename
addresses, adopt a task finished elsewhere, check outputs and blobs against their hashes, and
collect blobs nothing uses. Each operation takes the state lock and writes in one transaction."""
