"""Hardware behind small interfaces: camera, handset (audio and hook switch), with simulated twins.

Nothing here imports Qt; the kiosk core talks to these interfaces only.
"""
