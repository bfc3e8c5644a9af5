"""The state: what was generated, from what, at what cost. One backend interface (base.py);
SQLite through sqlite-utils is the embedded default."""
