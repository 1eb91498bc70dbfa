"""Access control and transport security: ACL users and their rules (:mod:`zyst.security.acl`),
the users file (:mod:`zyst.security.aclfile`), TLS (:mod:`zyst.security.tls`)."""
