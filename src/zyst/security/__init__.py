"""Access control and limits: ACL users and their rules (:mod:`zyst.security.acl`), the users
file (:mod:`zyst.security.aclfile`)."""
