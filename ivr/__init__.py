"""Kendari 112 control plane: decides how emergency calls are handled; Asterisk does the media."""

__version__ = "0.1.0"
