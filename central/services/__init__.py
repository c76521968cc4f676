"""Business logic of the central server. Services use ``central.db`` and never import FastAPI;
they raise the exceptions of :mod:`central.services.errors`, which the API maps to HTTP statuses.
"""
