"""The mirror of what exists in AEP, the work that keeps it current, and the pages that show it."""
