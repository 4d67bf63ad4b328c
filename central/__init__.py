"""The reference central server: control plane for terminals, residents, visits and Janus rooms.

It imports only `kiosk.protocol` from the terminal (its simulated visitor also reuses the call engine).
"""
