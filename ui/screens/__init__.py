"""One module per screen of the visit flow; each renders a TerminalState and posts intents."""
