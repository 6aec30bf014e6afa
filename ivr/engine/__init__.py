"""Runs the core: one task per call, the dispatcher, timers, reconcile on (re)connect."""
