"""The priority ACD: who waits in which order, which call taker gets which caller.

Pure like the rest of ivr.core: handle(state, event, now) -> (state, commands).
"""
