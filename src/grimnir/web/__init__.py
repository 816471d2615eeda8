"""Files the API serves from the package: the built web UI (``app/``: made by
``make install`` from ``ui/``; ``grimnir.api.routes.ui``) and the public
player (``player.html``, ``player.js``, ``player.css``: plain HTML and JS)."""
