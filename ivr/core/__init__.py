"""Pure decisions: no I/O, no clock reads. Every function takes (state, event, now)."""
