"""VN Stock Tracker: the ``vntrack`` CLI and the project-wide settings."""
