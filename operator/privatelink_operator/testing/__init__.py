"""Test support: emulators of the services the operator talks to (Kubernetes API, AWS)."""
