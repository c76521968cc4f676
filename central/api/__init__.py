"""The REST API: thin routers (one module per resource in ``routes/``) over ``central.services``."""
