"""The Redis backend of the cache and the replay guard: one link, the store and its codec."""
