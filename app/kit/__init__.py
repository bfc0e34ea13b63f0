"""What every layer shares: settings, the clock, domain errors, logging, metrics, the list shape."""
