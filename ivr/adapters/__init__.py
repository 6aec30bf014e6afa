"""Adapters: the only code that talks to Asterisk, Redis and the outside world."""
