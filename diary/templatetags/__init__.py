"""Template filters of the diary app."""
