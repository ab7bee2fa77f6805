"""The API documentation page: Swagger UI served from the package (no CDN), started by a
script file rather than an inline script, so that it works under the content security policy.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

DOCS_URL = "/api/v1/docs"


def install_docs(app: FastAPI) -> None:
    """Serve :data:`DOCS_URL` (create the app with ``docs_url=None``)."""
    from storeops.web.pages import templates  # the page layer owns the templates

    async def docs(request: Request) -> HTMLResponse:
        html = templates.get_template("api_docs.html").render(
            title=app.title, openapi_url=app.openapi_url)
        return HTMLResponse(html)

    app.add_route(DOCS_URL, docs, include_in_schema=False)
