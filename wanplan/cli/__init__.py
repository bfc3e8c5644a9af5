"""The command line: a thin shell that parses, calls plain functions and renders.
Command modules import only click at load time, so `wanplan --help` stays fast."""
