"""One module per resource, listed in ``grimnir.api.app.ROUTE_MODULES``.

Named here for the rest of the control plane: the harbor's credential
callback path and its secret.
"""

from grimnir.api.routes._harbor import AUTH_PATH, harbor_secret

__all__ = ["AUTH_PATH", "harbor_secret"]
