"""The terminal's screens: a thin PySide6 view of the core's state; it holds no business rule.

Intents go to the core through `Terminal.post`; state and video come back through `CoreBridge` signals.
"""
