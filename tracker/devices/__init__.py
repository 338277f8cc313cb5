"""Sensors: one pure protocol module per device family, the BLE session, the emulator."""
