"""Rate limiting: the bundled limiter (envoyproxy/ratelimit backed by Redis)."""
