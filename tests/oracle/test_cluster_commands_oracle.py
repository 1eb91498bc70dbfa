"""READONLY and READWRITE outside cluster mode, against redis-server: the same error, arity
error, and the same meaning in ACL rules (``+readonly`` names the command, not a category)."""

from __future__ import annotations

from tests.conftest import Oracle, check_sequence

DISABLED = b"-ERR This instance has cluster support disabled\r\n"


def test_readonly_and_readwrite_answer_cluster_support_disabled(oracle: Oracle) -> None:
    check_sequence(
        oracle,
        [("READONLY",), ("READWRITE",), ("readonly", "x"), ("READWRITE", "x", "y")],
        {
            0: DISABLED,
            1: DISABLED,
            2: b"-ERR wrong number of arguments for 'readonly' command\r\n",
        },
    )


def test_acl_rules_name_readonly_as_a_command(oracle: Oracle) -> None:
    try:
        check_sequence(
            oracle,
            [
                ("ACL", "SETUSER", "cluster-cmds", "on", "nopass", "+readonly", "-readwrite"),
                ("ACL", "DRYRUN", "cluster-cmds", "READONLY"),
                ("ACL", "DRYRUN", "cluster-cmds", "READWRITE"),
                ("ACL", "DRYRUN", "cluster-cmds", "EVAL_RO", "", "0"),
                ("ACL", "GETUSER", "cluster-cmds"),
            ],
            {
                0: b"+OK\r\n",
                1: b"+OK\r\n",
                3: b"$57\r\nThis user has no permissions to run the 'eval_ro' command\r\n",
            },
        )
    finally:
        oracle.check("ACL", "DELUSER", "cluster-cmds")
