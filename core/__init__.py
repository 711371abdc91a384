"""Shared infrastructure for every textdesk package: settings, database, Redis/RQ, embedded Redis."""
