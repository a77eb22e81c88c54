"""The web dashboard and JSON API (issue 4): a FastAPI app factory over the library."""
