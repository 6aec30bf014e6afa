"""The command centre's configuration (queue/*.yaml): schema, loading, checking."""
