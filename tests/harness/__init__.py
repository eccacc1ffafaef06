"""What the tests stand on, one module per noun: databases, the CLI, Redis, processes, the
running service, and small stand-ins for the outside (a TCP proxy, a webhook receiver, a
browser)."""
