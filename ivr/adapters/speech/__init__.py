"""Speech adapters: the caller's audio from Asterisk externalMedia, and what it holds."""
