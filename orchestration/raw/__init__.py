"""Raw layer: the landing zone's exports and the daily loads into `raw`."""
