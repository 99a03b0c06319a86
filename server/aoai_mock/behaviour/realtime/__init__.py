"""The Realtime API: a WebSocket session's protocol, answered by the same responders and scenarios as chat.

:mod:`.conversation` reads client events and makes server events; :mod:`.session` keeps the session's
configuration; :mod:`.turns` answers a response through the chat seam; :mod:`.audio` hears (server VAD,
transcription) and speaks (PCM16 at 24 kHz); :mod:`.events` spells the events of each era (preview, GA).
"""
