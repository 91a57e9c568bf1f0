"""Local AEP emulator."""
