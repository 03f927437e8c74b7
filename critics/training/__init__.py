"""Offline training of cost models and critics (torch). Never imported by the server."""
