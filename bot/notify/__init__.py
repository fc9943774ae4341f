"""Channel notifications: the store, change detection, digest schedules (and later the worker)."""
