"""cfusage."""
