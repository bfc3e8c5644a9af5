"""The offline `sim` provider: an in-process service with real task latency and real media."""
