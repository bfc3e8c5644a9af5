"""Providers: one module each behind the Provider protocol (base.py), registered in registry.py."""
