"""The REST API: read what the pages show, acknowledge alerts, register alert webhooks."""
