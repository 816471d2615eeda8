"""The status page's files (``index.html``, ``app.js``, ``style.css``), served by
``grimnir.api.routes.ui`` through :mod:`importlib.resources`; plain HTML and JS,
no build step."""
