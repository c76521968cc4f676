"""The one-command demo: embedded broker, SQLite, a simulated rig and a session to its verdict."""
