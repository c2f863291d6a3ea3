"""The e2e tier: a package, so that its dagster dev fixture ends with the last e2e test."""
