"""Access control and transport security: ACL users, eviction under a memory cap, TLS."""
