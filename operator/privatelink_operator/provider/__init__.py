"""The provider half: a PrivateLinkService becomes a verified, HTTP/2-ready endpoint service.

``desired`` (pure) says what AWS should hold, ``actual`` reads what it holds (found by ownership
tags), ``diff`` (pure) turns the two into an ordered plan, ``execute`` carries the plan out, and
``reconcile`` runs one level-based pass and derives the status.
"""
