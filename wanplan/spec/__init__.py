"""Specs: TOML asset declarations, read, validated and resolved into generation requests."""
