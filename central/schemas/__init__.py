"""Request and response models of the REST API, one module per resource.

Every model derives from :class:`CamelModel` (camelCase out through FastAPI, camelCase or
snake_case in; ``model_dump()`` keeps the Python names, for services);
request bodies derive from :class:`RequestModel`, which also refuses unknown fields.
"""

from central.schemas.base import CamelModel, Page, RequestModel

__all__ = ["CamelModel", "Page", "RequestModel"]
