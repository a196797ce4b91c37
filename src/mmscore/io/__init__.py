"""Files and formats: tables, media, experiment layouts. Every write is atomic."""
