"""Operator tools run from the command line (python -m ivr ...)."""
