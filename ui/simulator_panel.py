"""A small window beside the kiosk, shown only with simulated drivers, to lift and hang up the
simulated handset: how a person tries the demo on a machine without a handset."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from drivers.simulated_handset import SimulatedHookSwitch


class SimulatorPanel(QWidget):
    def __init__(self, hook: SimulatedHookSwitch) -> None:
        super().__init__()
        self.setWindowTitle("Simulated handset")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Simulated hardware (demo only)"))
        lift = QPushButton("Lift handset")
        lift.clicked.connect(hook.lift)
        hang_up = QPushButton("Hang up")
        hang_up.clicked.connect(hook.hang_up)
        layout.addWidget(lift)
        layout.addWidget(hang_up)
