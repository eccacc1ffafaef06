"""The shared core (config, rules, models, store) and the web process."""
