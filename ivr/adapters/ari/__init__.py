"""Asterisk REST Interface over aiohttp: typed models, REST calls, the events WebSocket."""
