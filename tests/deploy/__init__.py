"""The deploy tier: a package, so that its PostgreSQL and processes end with the last deploy test."""
