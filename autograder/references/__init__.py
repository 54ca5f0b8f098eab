"""Reference solutions, one module per lab. Instructor side only."""
