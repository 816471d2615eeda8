"""One module per resource; see ``grimnir.api.app.ROUTE_MODULES``."""
