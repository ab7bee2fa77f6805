"""Serving the cockpit with Uvicorn."""

from __future__ import annotations

import uvicorn

from storeops.api.app import create_app


def serve(db_url: str, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the cockpit and API until interrupted (blocking)."""
    uvicorn.run(create_app(db_url), host=host, port=port, log_level="info")
