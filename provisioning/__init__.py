"""`kiosk-provision`: takes a freshly imaged terminal to an enrolled, configured kiosk (`provisioning.cli`)."""
