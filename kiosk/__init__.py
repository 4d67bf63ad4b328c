"""The visitation terminal's core: configuration, the visit state machine, central and call clients.

Nothing in this package imports Qt.
"""

__version__ = "0.1.0"
