"""Content keys: what identifies a generation, independent of how its spec is written."""
