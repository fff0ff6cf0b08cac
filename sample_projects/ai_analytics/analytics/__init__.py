"""AI analytics service: natural-language insights over product and support data."""
