"""Storage of the central server: column types, models, engine and Alembic migrations."""
