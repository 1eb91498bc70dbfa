"""Every error reply Zyst sends, byte for byte as Redis 7 sends it.

Handlers raise :class:`CommandError` with one of these strings (or a formatted one); the
dispatcher turns it into a RESP error reply. The text never includes the leading ``-`` nor the
trailing CRLF: the reply encoder adds those.

Error text is a ``str`` in which each character stands for one byte. The strings here are ASCII;
where an error quotes what a client sent, :func:`c_string` maps each byte to the character of the
same number (latin-1), and the reply encoder maps each character back to its byte. So an error
reply carries the client's bytes unaltered (nothing is decoded as UTF-8), and the hot path keeps
plain ``str`` messages. Redis prints client bytes with ``%s`` or ``%.<n>s``, which stop at the
first NUL byte; :func:`c_string` does the same.
"""

from __future__ import annotations


class CommandError(Exception):
    """A command failed; ``message`` is the full error text, e.g. ``ERR syntax error``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProtocolError(Exception):
    """The client sent bytes that are not a valid request; the connection closes after the reply."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- generic ---------------------------------------------------------------------------------
SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
# A replica: writes from its clients (replica-read-only), anything not flagged stale while the
# link is down (replica-serve-stale-data no), a SYNC while it has no primary to follow.
READONLY_REPLICA = "READONLY You can't write against a read only replica."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
NOMASTERLINK = "NOMASTERLINK Can't SYNC while not connected with my master"
REPLICAOF_BY_REPLICA = "ERR Command is not valid when client is a replica."
UNBLOCKED_TURNED_REPLICA = (
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)
WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
    "replica is configured to be writable (which is not the default) writes to replicas are just "
    "local and are not propagated."
)
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
INVALID_DB = "ERR DB index is out of range"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
OUT_OF_RANGE = "ERR value is out of range, must be positive"


def wrong_arity(name: str) -> str:
    """``ERR wrong number of arguments for 'get' command``, with the declared name."""
    return f"ERR wrong number of arguments for '{name}' command"


def c_string(value: bytes, limit: int = -1) -> str:
    """``value`` as Redis's ``%s`` (``%.<limit>s`` when ``limit`` is not negative) prints it:
    up to its first NUL byte and at most ``limit`` bytes, each byte one character (latin-1)."""
    end = value.find(b"\0")
    if end < 0:
        end = len(value)
    if 0 <= limit < end:
        end = limit
    return value[:end].decode("latin-1")


def unknown_command(name: bytes, args: list[bytes]) -> str:
    """Redis quotes up to 128 bytes of the name, then quotes arguments while what it has
    written of them is shorter than 128 bytes, cutting the last one to fill 128 at most."""
    shown = ""
    for arg in args:
        if len(shown) >= 128:
            break
        shown += f"'{c_string(arg, 128 - len(shown))}' "
    return f"ERR unknown command '{c_string(name, 128)}', with args beginning with: {shown}"


def subcommand_syntax(sub: bytes, command: str) -> str:
    """A known subcommand given the wrong number of words (Redis's
    ``addReplySubcommandSyntaxError``)."""
    return (
        f"ERR unknown subcommand or wrong number of arguments for '{c_string(sub, 128)}'. "
        f"Try {command.upper()} HELP."
    )


def unknown_subcommand(sub: bytes, command: str) -> str:
    return f"ERR unknown subcommand '{c_string(sub, 128)}'. Try {command.upper()} HELP."


# -- protocol (the connection is closed after these) -----------------------------------------
PROTO_TOO_BIG_INLINE = "ERR Protocol error: too big inline request"
PROTO_TOO_BIG_MBULK = "ERR Protocol error: too big mbulk count string"
PROTO_TOO_BIG_BULK = "ERR Protocol error: too big bulk count string"
PROTO_INVALID_MBULK = "ERR Protocol error: invalid multibulk length"
# Requests larger than these limits from a client that must log in first (RequestParser.limited).
PROTO_UNAUTH_MBULK = "ERR Protocol error: unauthenticated multibulk length"
PROTO_UNAUTH_BULK = "ERR Protocol error: unauthenticated bulk length"
PROTO_INVALID_BULK = "ERR Protocol error: invalid bulk length"
PROTO_UNBALANCED = "ERR Protocol error: unbalanced quotes in request"


def proto_expected_dollar(got: bytes) -> str:
    return f"ERR Protocol error: expected '$', got '{got.decode('latin-1')}'"


# -- connection / server -----------------------------------------------------------------------
NOPROTO = "NOPROTO unsupported protocol version"
AUTH_NO_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
CLIENT_NAME_SPACES = "ERR Client names cannot contain spaces, newlines or special characters."
BUSYKEY = "BUSYKEY Target key name already exists."
NO_SUCH_CLIENT = "ERR No such client"


# -- authentication and ACL enforcement (zyst.commands.guard) ------------------------------------
NOAUTH = "NOAUTH Authentication required."
NOAUTH_HELLO = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time"
)
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = (
    "NOPERM this user has no permissions to access one of the channels used as arguments"
)


def noperm_command(fullname: str) -> str:
    """A command (``fullname``: ``get``, ``config|set``) its user may not run."""
    return f"NOPERM this user has no permissions to run the '{fullname}' command"


# Why a command a script calls is refused by its caller's ACL ("ERR " is added with the error
# table, as for the other redis.call refusals), by the kind of denial.
SCRIPT_ACL_COMMAND = "The user executing the script can't run this command or subcommand"
SCRIPT_ACL_KEY = (
    "The user executing the script can't access at least one of the keys mentioned in the "
    "command arguments"
)
SCRIPT_ACL_CHANNEL = (
    "The user executing the script can't publish to the channel mentioned in the command"
)
# A queued command EXEC finds its user may no longer run, by the kind of denial.
_EXEC_ACL_CHANGED = (
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC "
    "call. This command is no longer allowed for the following reason: "
)
EXEC_ACL_COMMAND = _EXEC_ACL_CHANGED + "no permission to execute the command or subcommand"
EXEC_ACL_KEY = _EXEC_ACL_CHANGED + "no permission to touch the specified keys"
EXEC_ACL_CHANNEL = (
    _EXEC_ACL_CHANGED + "no permission to access one of the channels used as arguments"
)
# Sent to a connection from another host while protected-mode is on and the default user has no
# password, before it is closed (a raw line: the connection is refused, not a command).
PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from the "
    b"loopback interface. If you want to connect from external computers to Redis you may adopt "
    b"one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    b"same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from "
    b"the outside.\r\n"
)


# -- expire options (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT) -------------------------------------
EXPIRE_NX_CONFLICT = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT_CONFLICT = "ERR GT and LT options at the same time are not compatible"
DECREMENT_OVERFLOW = "ERR decrement would overflow"


def unsupported_option(option: bytes) -> str:
    return f"ERR Unsupported option {c_string(option)}"


# -- connection / server commands (HELLO, CLIENT, SHUTDOWN, CONFIG) ---------------------------
HELLO_PROTOVER = "ERR Protocol version is not an integer or out of range"
INVALID_CLIENT_ID = "ERR Invalid client ID"
NO_SHUTDOWN_IN_PROGRESS = "ERR No shutdown in progress."
CONFIG_NO_FILE = "ERR The server is running without a config file"
CONFIG_REWRITE_FAILED = "ERR Rewriting config file: {}"  # the system's error text


def hello_syntax(option: bytes) -> str:
    return f"ERR Syntax error in HELLO option '{c_string(option)}'"


def unknown_client_type(name: bytes) -> str:
    return f"ERR Unknown client type '{c_string(name)}'"


def unrecognized_option(option: bytes) -> str:
    return f"ERR Unrecognized option '{c_string(option)}'"


def client_attr_spaces(attr: bytes) -> str:
    """CLIENT SETINFO's validation error names the attribute as the client typed it."""
    return f"ERR {c_string(attr)} cannot contain spaces, newlines or special characters."


# -- lists (LSET, LPOS, LMPOP) ------------------------------------------------------------------
INDEX_OUT_OF_RANGE = "ERR index out of range"
LPOS_RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
NUMKEYS_NOT_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_NOT_POSITIVE = "ERR count should be greater than 0"


# -- persistence -------------------------------------------------------------------------------
MISCONF_AOF = "MISCONF Errors writing to the AOF file: {}"
"""Writes (and PING) are refused with this while the AOF cannot be written; ``{}`` is the C
library's text for the error, as ``strerror`` gives it."""
AOF_TURN_ON_FAILED = "Unable to turn on AOF. Check server logs."

# -- the AOF manifest (the reasons Redis 7.0 logs before it refuses to start) -----------------
MANIFEST_EMPTY = "Found an empty AOF manifest"
MANIFEST_TOO_LONG = "The AOF manifest file contains too long line"
MANIFEST_INVALID = "Invalid AOF manifest file format"
MANIFEST_PATH_NAME = "File can't be a path, just a filename"
MANIFEST_DUPLICATE_BASE = "Found duplicate base file information"
MANIFEST_NON_MONOTONIC = "Found a non-monotonic sequence number"
MANIFEST_UNKNOWN_TYPE = "Unknown AOF file type"

# -- BGREWRITEAOF ------------------------------------------------------------------------------
AOF_REWRITE_IN_PROGRESS = "ERR Background append only file rewriting already in progress"
AOF_REWRITE_FAILED = (
    "ERR Can't execute an AOF background rewriting. "
    "Please check the server logs for more information."
)
# -- RDB snapshots (SAVE, BGSAVE, SHUTDOWN, stop-writes-on-bgsave-error) ---------------------
MISCONF_RDB = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
    "disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    "RDB error."
)
"""Writes (and PING) are refused with this after a failed save while the ``save`` schedule is
set and ``stop-writes-on-bgsave-error`` is on, until a save succeeds (it wins over the AOF's)."""
BGSAVE_IN_PROGRESS = "ERR Background save already in progress"
BGSAVE_OTHER_CHILD = (
    "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE "
    "in order to schedule a BGSAVE whenever possible."
)
SAVE_FAILED = "ERR"
"""SAVE or BGSAVE that failed (Redis's shared ``-ERR`` with no text: the log says why)."""
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."


# -- generic key commands (RENAME, MOVE, COPY, SWAPDB) -----------------------------------------
SAME_OBJECT = "ERR source and destination objects are the same"
INT_OUT_OF_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
"""A number that is an integer but not a C ``int`` (a database index, say)."""
SWAPDB_FIRST_INDEX = "ERR invalid first DB index"
SWAPDB_SECOND_INDEX = "ERR invalid second DB index"


# -- blocking commands -------------------------------------------------------------------------
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"


# -- hashes (HINCRBY, HRANDFIELD) -------------------------------------------------------------
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
NAN_OR_INFINITY = "ERR value is NaN or Infinity"
OUT_OF_RANGE_PLAIN = "ERR value is out of range"
LONG_RANGE = (
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)
"""A count that may be negative but not LONG_MIN (HRANDFIELD, SRANDMEMBER): Redis's range
error."""


# -- sets (SRANDMEMBER, SINTERCARD) ------------------------------------------------------------
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
GETKEYS_INVALID_ARGUMENTS = "ERR Invalid arguments specified for command"
"""COMMAND GETKEYS of a command whose keys cannot be found in its arguments (SINTERCARD)."""


# -- string commands (APPEND, SETRANGE, INCRBYFLOAT, LCS) --------------------------------------
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
FLOAT_NAN_OR_INFINITY = "ERR increment would produce NaN or Infinity"
LCS_NOT_STRINGS = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_LONG = "ERR String too long for LCS"
LCS_TABLE_TOO_BIG = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"


# -- sorted sets (ZADD, ZRANGE, ZUNIONSTORE ...) ----------------------------------------------
ZADD_XX_NX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIRS = "ERR INCR option supports a single increment-element pair"
SCORE_NAN = "ERR resulting score is not a number (NaN)"
MIN_MAX_NOT_FLOAT = "ERR min or max is not a float"
MIN_MAX_NOT_LEX = "ERR min or max not valid string range item"
ZRANGE_LIMIT = (
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
)
ZRANGE_LEX_WITHSCORES = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"


def zset_input_keys(name: str) -> str:
    """ZUNIONSTORE, ZINTER ... given numkeys < 1 (Redis names the command in lower case)."""
    return f"ERR at least 1 input key is needed for '{name}' command"


# -- geo (GEOADD, GEODIST, GEOSEARCH, GEORADIUS ...) ----------------------------------------------
GEO_UNSUPPORTED_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
GEO_NEED_RADIUS = "ERR need numeric radius"
GEO_NEED_WIDTH = "ERR need numeric width"
GEO_NEED_HEIGHT = "ERR need numeric height"
GEO_RADIUS_NEGATIVE = "ERR radius cannot be negative"
GEO_BOX_NEGATIVE = "ERR height or width cannot be negative"
GEO_MEMBER_UNKNOWN = "ERR could not decode requested zset member"
GEO_COUNT_NOT_POSITIVE = "ERR COUNT must be > 0"
GEO_ANY_WITHOUT_COUNT = "ERR the ANY argument requires COUNT argument"


def geo_invalid_pair(longitude: float, latitude: float) -> str:
    """A coordinate beyond Redis's limits (printed with C's ``%f``)."""
    return f"ERR invalid longitude,latitude pair {longitude:f},{latitude:f}"


def geo_store_with_options(what: str) -> str:
    """STORE (``what``: "STORE option in GEORADIUS" or "GEOSEARCHSTORE") with WITH*."""
    return f"ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"


def geo_need_from(name: str) -> str:
    """GEOSEARCH without a centre (``name``: the command as the client spelled it)."""
    return f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"


def geo_need_by(name: str) -> str:
    """GEOSEARCH without a shape."""
    return f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"


# -- CLIENT UNBLOCK ---------------------------------------------------------------------------
CLIENT_UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
# What a client parked by a blocking command gets when CLIENT UNBLOCK ... ERROR ends its wait.
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

# -- SORT, SORT_RO ------------------------------------------------------------------------------
SORT_NOT_DOUBLE = "ERR One or more scores can't be converted into double"

# -- bitmaps (SETBIT, GETBIT, BITPOS, BITOP, BITFIELD) ----------------------------------------
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
BIT_ARGUMENT = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE_KEY = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = (
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)
BITFIELD_OVERFLOW = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_GET_ONLY = "ERR BITFIELD_RO only supports the GET subcommand"

# -- OBJECT -------------------------------------------------------------------------------------
OBJECT_LFU_SELECTED = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
OBJECT_LFU_NOT_SELECTED = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust."
)

# -- SCAN, HSCAN, SSCAN, ZSCAN ------------------------------------------------------------------
INVALID_CURSOR = "ERR invalid cursor"

# -- transactions (MULTI, EXEC, DISCARD, WATCH) --------------------------------------------------
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
WATCH_INSIDE_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
NOT_IN_TRANSACTION = "ERR Command not allowed inside a transaction"


# -- Pub/Sub ------------------------------------------------------------------------------------
def pubsub_context(name: str) -> str:
    """A command a RESP2 client with subscriptions may not run (``name``: the command's full
    name, ``client|list`` for a subcommand)."""
    return (
        f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
        "RESET are allowed in this context"
    )


# -- introspection (SLOWLOG, LATENCY, CLIENT, DEBUG, RESET, LOLWUT) ----------------------------
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"


def latency_no_samples(event: bytes) -> str:
    return f"ERR No samples available for event '{c_string(event, 128)}'"


CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
NO_SUCH_CLIENT = "ERR No such client"


def no_such_user(name: bytes) -> str:
    return f"ERR No such user '{c_string(name, 128)}'"


DEBUG_RELOAD_OPTIONS = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
DEBUG_RELOAD_FAILED = "ERR Error trying to load the RDB dump"
DEBUG_NOT_ALLOWED = (
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you '
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
# -- scripting (EVAL, EVALSHA, SCRIPT, redis.call) -----------------------------------------------
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
SCRIPT_NUMKEYS_TOO_BIG = "ERR Number of keys can't be greater than number of args"
SCRIPT_NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
SCRIPT_FLUSH_OPTION = "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
SCRIPT_SHEBANG = "ERR Invalid script shebang"
SCRIPT_SHEBANG_ENGINE = "ERR Invalid engine in script shebang"
SCRIPT_WRITE_FLAG_RO = "ERR Can not execute a script with write flag using *_ro command."
SCRIPT_KILL_NOT_BUSY = "NOTBUSY No scripts in execution right now."
# While a script runs past busy-reply-threshold (zyst.busy): every other command, by the kind
# of script running (an EVAL script, a function).
BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = (
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)
SCRIPT_KILLED = "ERR Script killed by user with SCRIPT KILL..."
SCRIPT_UNKILLABLE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
    "NOSAVE command."
)


def exec_abort_because(message: str) -> str:
    """EXEC refused outright (the transaction is discarded) for the reason ``message``."""
    return f"EXECABORT Transaction discarded because of: {message}"


# Errors a script's redis.call gets (Redis adds the "ERR " code when it builds the error table).
SCRIPT_NO_ARGUMENTS = "Please specify at least one argument for this redis lib call"
SCRIPT_BAD_ARGUMENTS = "Lua redis lib command arguments must be strings or integers"
SCRIPT_REGISTER_OUTSIDE = "redis.register_function can only be called on FUNCTION LOAD command"
SCRIPT_CALL_OUTSIDE = "redis.call/pcall can only be called inside a script invocation"
SCRIPT_UNKNOWN_COMMAND = "Unknown Redis command called from script"
SCRIPT_WRONG_ARITY = "Wrong number of args calling Redis command from script"
SCRIPT_NOSCRIPT_COMMAND = "This Redis command is not allowed from script"
SCRIPT_WRITE_IN_READ_ONLY = "Write commands are not allowed from read-only scripts."


def script_unexpected_engine(engine: bytes) -> str:
    return "ERR Unexpected engine in script shebang: " + engine.decode("latin-1")


def script_unknown_option(option: bytes) -> str:
    return "ERR Unknown lua shebang option: " + option.decode("latin-1")


def script_unexpected_flag(flag: bytes) -> str:
    return "ERR Unexpected flag in script shebang: " + flag.decode("latin-1")


def script_compile(message: bytes) -> str:
    """A script that does not compile; ``message`` is Lua's."""
    return "ERR Error compiling script (new function): " + message.decode("latin-1")


def script_run_failed(funcname: str, message: str) -> str:
    return f"ERR Error running script {funcname}, {message}\n"


# -- FUNCTION, FCALL -------------------------------------------------------------------------------
FUNCTION_MISSING_METADATA = "ERR Missing library metadata"
FUNCTION_INVALID_METADATA = "ERR Invalid library metadata"
FUNCTION_NAME_TWICE = "ERR Invalid metadata value, name argument was given multiple times"
FUNCTION_NO_NAME = "ERR Library name was not given"
FUNCTION_BAD_NAME = (
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at "
    "least one character long"
)
FUNCTION_NONE_REGISTERED = "ERR No functions registered"
FUNCTION_LIBRARY_NOT_FOUND = "ERR Library not found"
FUNCTION_NOT_FOUND = "ERR Function not found"
FUNCTION_BAD_NUMKEYS = "ERR Bad number of keys provided"
FUNCTION_CODE_MISSING = "ERR Function code is missing"
FUNCTION_LIBRARY_NAME_MISSING = "ERR library name argument was not given"
FUNCTION_FLUSH_OPTION = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"


def function_bad_metadata(part: bytes) -> str:
    return "ERR Invalid metadata value given: " + part.decode("latin-1")


def function_no_engine(engine: bytes) -> str:
    return f"ERR Engine '{engine.decode('latin-1')}' not found"


def function_library_exists(name: bytes) -> str:
    return f"ERR Library '{name.decode('latin-1')}' already exists"


def function_exists(name: bytes) -> str:
    return f"ERR Function {name.decode('latin-1')} already exists"


# FUNCTION RESTORE
FUNCTION_RESTORE_POLICY = (
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
)
DUMP_PAYLOAD_INVALID = "ERR DUMP payload version or checksum are wrong"
FUNCTION_RESTORE_NO_TYPE = "ERR can not read data type"
FUNCTION_RESTORE_NOT_A_FUNCTION = "ERR given type is not a function"
FUNCTION_RESTORE_BAD_LIBRARY = "ERR Failed loading library payload"


def function_restore_library_exists(name: bytes) -> str:
    """A library of the payload is loaded already (APPEND): unlike FUNCTION LOAD's, unquoted."""
    return f"ERR Library {name.decode('latin-1')} already exists"


def function_compile(message: bytes) -> str:
    return "ERR Error compiling function: " + message.decode("latin-1")


def function_register_failed(message: str) -> str:
    return "ERR Error registering functions: " + message


def function_unknown_option(option: bytes) -> str:
    return "ERR Unknown option given: " + option.decode("latin-1")


def function_list_unknown_argument(argument: bytes) -> str:
    return "ERR Unknown argument " + argument.decode("latin-1")


# -- DUMP, RESTORE, MIGRATE ---------------------------------------------------------------------
# (DUMP_PAYLOAD_INVALID, above, is RESTORE's too.)
RESTORE_BAD_TTL = "ERR Invalid TTL value, must be >= 0"
RESTORE_BAD_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
RESTORE_BAD_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
RESTORE_BAD_DATA = "ERR Bad data format"
MIGRATE_KEYS_NEED_EMPTY_KEY = (
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
)
# Redis gives these its own code (the text it passes starts with "-"), so errorstats counts
# them as IOERR.
MIGRATE_CONNECT_FAILED = "IOERR error or timeout connecting to the client"
MIGRATE_WRITE_FAILED = "IOERR error or timeout writing to target instance"
MIGRATE_READ_FAILED = "IOERR error or timeout reading to target instance"


def migrate_target_error(line: bytes) -> str:
    """The target's error line (without its ``-``), as Redis quotes it: up to a NUL byte."""
    return "ERR Target instance replied with error: " + line.split(b"\0", 1)[0].decode("latin-1")


# -- cluster commands outside cluster mode (READONLY, READWRITE) ---------------------------------
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"


# -- MONITOR, CLIENT PAUSE ------------------------------------------------------------------------
MONITOR_DENY_BLOCKING = "ERR MONITOR isn't allowed for DENY BLOCKING client"
# What a monitoring client (a replica, to Redis) gets for a command that reads, writes or may
# replicate.
REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"


# -- client-side caching (CLIENT TRACKING, CLIENT CACHING) --------------------------------------
TRACKING_ONE_REDIRECT = "ERR A client can only redirect to a single other client"
TRACKING_NO_SUCH_REDIRECT = "ERR The client ID you want redirect to does not exist"
TRACKING_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
TRACKING_BCAST_SWITCH = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)
TRACKING_OPTIN_OPTOUT_BCAST = "ERR OPTIN and OPTOUT are not compatible with BCAST"
TRACKING_OPTIN_AND_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
TRACKING_OPT_SWITCH = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
    "then re-enabling it with a different mode."
)
CACHING_NOT_TRACKING = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
    "OPTOUT mode enabled"
)
CACHING_YES_NOT_OPTIN = (
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
)
CACHING_NO_NOT_OPTOUT = (
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
)


# -- maxmemory (zyst.eviction) ------------------------------------------------------------------
OOM = "OOM command not allowed when used memory > 'maxmemory'."
# A script with flags (a shebang, or a function) that may write and lacks allow-oom.
SCRIPT_OOM = (
    "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
)


def _c_string(raw: bytes) -> str:
    """A prefix as Redis prints it with ``%s``: up to its first NUL byte."""
    return raw.split(b"\0", 1)[0].decode("latin-1")


def prefix_overlaps_existing(prefix: bytes, existing: bytes) -> str:
    return (
        f"ERR Prefix '{_c_string(prefix)}' overlaps with an existing prefix "
        f"'{_c_string(existing)}'. Prefixes for a single client must not overlap."
    )


def prefix_overlaps_given(prefix: bytes, other: bytes) -> str:
    return (
        f"ERR Prefix '{_c_string(prefix)}' overlaps with another provided prefix "
        f"'{_c_string(other)}'. Prefixes for a single client must not overlap."
    )


# -- client limits (maxclients, output buffers) ---------------------------------------------------
# Written to a connection refused because maxclients are connected, before it is closed.
MAX_CLIENTS_REACHED = "ERR max number of clients reached"


def maxclients_unavailable(allowed: int) -> str:
    """CONFIG SET maxclients beyond what the open-file limit can be raised to (the reason part
    of CONFIG SET's error)."""
    return (
        "The operating system is not able to handle the specified number of clients, "
        f"try with {allowed}"
    )


def error_code(message: str) -> str:
    """The code INFO errorstats counts an error reply under, as Redis finds it: the first word
    (``ERR``, ``WRONGTYPE`` ...) when a space ends it within the first 32 characters, else
    ``ERR``."""
    space = message.find(" ", 0, 32)
    return message[:space] if space >= 0 else "ERR"


# -- net: TLS and the Unix socket (zyst.security.tls, zyst.server) --------------------------
# CONFIG SET tls-*: the new settings do not make a TLS context (the reason is in the log).
TLS_UPDATE_FAILED = "Unable to update TLS configuration. Check server logs."
# CONFIG SET tls-port: the port cannot be listened on.
TLS_PORT_FAILED = "Unable to listen on this port. Check server logs."


# -- ACL rules and the ACL command (zyst.security.acl, zyst.commands.acl) -------------------
# Why a rule of ACL SETUSER (or of a users file line) was refused (Redis's
# ACLSetUserStringError), without the "ERR Error in ACL SETUSER modifier" frame.
ACL_UNKNOWN_NAME = "Unknown command or category name in ACL"
ACL_SYNTAX = "Syntax error"
ACL_KEYS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
    "have any effect. Try 'resetkeys' to start with an empty list of patterns"
)
ACL_CHANNELS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
    "not have any effect. Try 'resetchannels' to start with an empty list of channels"
)
ACL_NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
ACL_BAD_HASH = (
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
    "characters"
)
ACL_DUPLICATE_USER = "Duplicate user found. A user can only be defined once in config files"
ACL_FIRSTARG_OF_SUBCOMMAND = "Allowing first-arg of a subcommand is not supported"

ACL_USERNAME_SPACES = "ERR Usernames can't contain spaces or null characters"
ACL_DELETE_DEFAULT = "ERR The 'default' user cannot be removed"
ACL_NO_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration."
)
ACL_SAVE_FAILED = (
    "ERR There was an error trying to save the ACLs. Please check the server logs for more "
    "information"
)
ACL_GENPASS_BITS = (
    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
    "number up to 4096"
)
SORT_BY_DENIED = "ERR BY option of SORT denied due to insufficient ACL permissions."
SORT_GET_DENIED = "ERR GET option of SORT denied due to insufficient ACL permissions."
ACL_LOAD_ABORTED = (
    "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
)


def acl_setuser_error(rule: bytes, reason: str) -> str:
    """A rule ACL SETUSER refused (the rule as C prints it: up to a NUL byte)."""
    return f"ERR Error in ACL SETUSER modifier '{c_string(rule)}': {reason}"


def acl_unmatched_parenthesis(rule: bytes) -> str:
    return f"ERR Unmatched parenthesis in acl selector starting at '{c_string(rule)}'."


def acl_unknown_category(name: bytes) -> str:
    return f"ERR Unknown category '{c_string(name, 128)}'"


def acl_user_not_found(name: bytes) -> str:
    return f"ERR User '{c_string(name)}' not found"


def acl_command_not_found(name: bytes) -> str:
    return f"ERR Command '{c_string(name)}' not found"


def acl_dryrun_command(name: str) -> str:
    return f"This user has no permissions to run the '{name}' command"


def acl_dryrun_key(key: bytes) -> str:
    return f"This user has no permissions to access the '{c_string(key)}' key"


def acl_dryrun_channel(channel: bytes) -> str:
    return f"This user has no permissions to access the '{c_string(channel)}' channel"


# -- the web dashboard (zyst.web.dashboard, zyst.web.reader) ---------------------------------
# Zyst's own texts: answered over HTTP, never on the RESP port.
DASHBOARD_NO_SUCH_KEY = "ERR no such key"
DASHBOARD_BAD_ARGUMENT = "ERR invalid request argument"


def dashboard_not_allowed(name: bytes) -> str:
    """A command the read-only dashboard does not run."""
    return f"ERR the dashboard does not run '{c_string(name)}'"


# -- redis.conf directives beyond the settings (zyst.config, zyst.config_ignored) ---------------
RENAME_NO_SUCH_COMMAND = "No such command in rename-command"
RENAME_TARGET_EXISTS = "Target command name already exists"
SENTINEL_DIRECTIVE = "sentinel directive while not in sentinel mode"
MODULE_CONFIG_NO_VALUE = "Module config specified without value"
OOM_SCORE_RANGE = "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
BAD_MASTER_PORT = "Invalid master port"
SHUTDOWN_SAVE_AND_NOSAVE = "shutdown options SAVE and NOSAVE can't be used simultaneously"
NOT_MEMORY_OR_PERCENT = "argument must be a memory or percent value"
PERCENT_TOO_BIG = "percentage argument must be less or equal to 100"
HOSTNAME_TOO_LONG = "Hostnames must be less than 256 characters"
HOSTNAME_CHARACTERS = "Hostnames may only contain alphanumeric characters, hyphens or dots"
INCLUDE_TOO_DEEP = "Too many nested include directives (a file includes itself?)"
# -- MODULE (zyst.commands.modules) ---------------------------------------------------------------
MODULE_NOT_ALLOWED = (
    'ERR MODULE command not allowed. If the enable-module-command option is set to "local", '
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
MODULE_LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."


def module_unload_failed(reason: str) -> str:
    return f"ERR Error unloading module: {reason}"


def module_command_raised(name: str, detail: str) -> str:
    """A module's handler raised (``detail``: the exception's type and message); the
    dispatcher's own text for a failing handler, with the message."""
    return f"ERR internal error in '{name}': {detail}"


# -- HyperLogLog (zyst.commands.hll) ----------------------------------------------------------
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
HLL_NO_KEY = "ERR The specified key does not exist"
HLL_NOT_SPARSE = "ERR HLL encoding is not sparse"


def pfdebug_unknown(sub: bytes) -> str:
    return f"ERR Unknown PFDEBUG subcommand '{c_string(sub)}'"


def pfselftest_failed(detail: str) -> str:
    return f"ERR TESTFAILED {detail}"


# -- streams (t_stream.c) ----------------------------------------------------------------------
STREAM_INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
STREAM_MAXLEN_MINID = (
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
)
STREAM_MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
STREAM_LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
STREAM_LIMIT_NO_STRATEGY = (
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
)
STREAM_XTRIM_NO_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
STREAM_LIMIT_NO_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
STREAM_XADD_ZERO_ID = "ERR The ID specified in XADD must be greater than 0-0"
STREAM_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
STREAM_XADD_SMALLER = (
    "ERR The ID specified in XADD is equal or smaller than the target stream top item"
)
STREAM_TOO_LARGE = "ERR Elements are too large to be stored"
STREAM_INVALID_START = "ERR invalid start ID for the interval"
STREAM_INVALID_END = "ERR invalid end ID for the interval"
STREAM_BLOCK_IN_SCRIPT = "ERR {} command is not allowed with BLOCK option from scripts"
STREAM_UNBALANCED = (
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
)
STREAM_GROUP_ONLY_XREADGROUP = (
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
)
STREAM_NOACK_ONLY_XREADGROUP = (
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
)
STREAM_ENTRIES_ADDED_NEGATIVE = "ERR entries_added must be positive"
STREAM_XSETID_BELOW_MAXDELETED = (
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
)
STREAM_XSETID_SMALLER = "ERR The ID specified in XSETID is smaller than the target stream top item"
STREAM_XSETID_ENTRIES_ADDED = (
    "ERR The entries_added specified in XSETID is smaller than the target stream length"
)
STREAM_GT_ONLY_XREADGROUP = (
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option."
)


# -- consumer groups (t_stream.c) --------------------------------------------------------------
XGROUP_KEY_REQUIRED = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
    "use the MKSTREAM option to create an empty stream automatically."
)
XGROUP_ENTRIES_READ = "ERR value for ENTRIESREAD must be positive or -1"
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
XREADGROUP_NO_GROUP = "ERR Missing GROUP option for XREADGROUP"
XREADGROUP_DOLLAR = (
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
    "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
    "would just return an empty result set."
)
NOGROUP_BLOCKED = "NOGROUP the consumer group this client was blocked on no longer exists"
UNBLOCKED_STREAM_GONE = "UNBLOCKED the stream key no longer exists"
XCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XCLAIM"
XCLAIM_IDLE = "ERR Invalid IDLE option argument for XCLAIM"
XCLAIM_TIME = "ERR Invalid TIME option argument for XCLAIM"
XCLAIM_RETRYCOUNT = "ERR Invalid RETRYCOUNT option argument for XCLAIM"
XAUTOCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
XAUTOCLAIM_COUNT = "ERR COUNT must be > 0"
XAUTOCLAIM_NO_MEMORY = (
    "ERR Insufficient memory, failed allocating transient memory, COUNT too high."
)


def nogroup_for_key(group: bytes, key: bytes) -> str:
    """XGROUP SETID/CREATECONSUMER/DELCONSUMER and XINFO CONSUMERS on a missing group."""
    return f"NOGROUP No such consumer group '{c_string(group)}' for key name '{c_string(key)}'"


def nogroup_key_or_group(key: bytes, group: bytes, suffix: str = "") -> str:
    """XPENDING, XCLAIM, XAUTOCLAIM (and XREADGROUP, with its suffix) on a missing key or
    group."""
    return f"NOGROUP No such key '{c_string(key)}' or consumer group '{c_string(group)}'{suffix}"


def xclaim_unrecognized(option: bytes) -> str:
    return f"ERR Unrecognized XCLAIM option '{c_string(option)}'"
