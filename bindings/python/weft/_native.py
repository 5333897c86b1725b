"""weft._native - loading libweft and declaring the C prototypes of weft.h.

Nothing here is public API. The library is found, in order:

1. the path in the environment variable WEFT_LIBRARY (a file, e.g.
   /opt/weft/lib/libweft.so.0);
2. ctypes.util.find_library("weft"): an installed library (ldconfig cache,
   LD_LIBRARY_PATH on Linux);
3. a development build of this checkout: <repo>/build*/libweft.so, skipping
   sanitizer builds (*asan*, which cannot be loaded into a plain interpreter),
   the most recently built first.

Every prototype is declared, so that ctypes never guesses an int for a
pointer. Functions returning memory the caller owns are declared to return
c_void_p (not c_char_p, which would copy the string and lose the pointer
that weft_free needs).
"""

import ctypes
import ctypes.util
import glob
import os

#   The ABI this binding is written against (weft.h WEFT_VERSION_MAJOR/MINOR).
ABI_MAJOR = 0
ABI_MINOR = 1


class LibraryNotFound(ImportError):
    """libweft could not be located or loaded."""


def _repo_candidates():
    """Returns development builds of this checkout, the newest first."""
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    found = [
        path
        for path in glob.glob(os.path.join(repo, "build*", "libweft.so"))
        if "asan" not in os.path.basename(os.path.dirname(path))
    ]
    return sorted(found, key=os.path.getmtime, reverse=True)


def _locate():
    """Returns (list of names or paths to try, where they came from)."""
    env = os.environ.get("WEFT_LIBRARY")
    if env:
        return [env], "WEFT_LIBRARY"
    name = ctypes.util.find_library("weft")
    if name:
        return [name], "find_library"
    return _repo_candidates(), "repository build directories"


def _load():
    """Loads libweft or raises LibraryNotFound saying what was tried."""
    candidates, origin = _locate()
    errors = []
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError as exc:
            errors.append("%s: %s" % (candidate, exc))
    raise LibraryNotFound(
        "libweft not found (tried %s%s); set WEFT_LIBRARY to the path of libweft.so"
        % (origin, ": " + "; ".join(errors) if errors else "")
    )


c_int = ctypes.c_int
c_size = ctypes.c_size_t
c_str = ctypes.c_char_p
c_void = ctypes.c_void_p
c_u64 = ctypes.c_uint64
c_i64 = ctypes.c_int64
P = ctypes.POINTER

#   Opaque handles are plain void pointers.
config_p = c_void
node_p = c_void
msg_p = c_void
peers_p = c_void

#   name: (restype, argtypes)
_PROTOTYPES = {
    "weft_strerror": (c_str, [c_int]),
    "weft_errname": (c_str, [c_int]),
    "weft_version": (c_int, [P(c_int), P(c_int), P(c_int)]),
    "weft_free": (None, [c_void]),
    "weft_config_new": (config_p, []),
    "weft_config_destroy": (None, [P(config_p)]),
    "weft_config_set": (c_int, [config_p, c_str, c_str]),
    "weft_config_get": (c_str, [config_p, c_str]),
    "weft_config_load": (c_int, [config_p, c_str]),
    "weft_config_error": (c_str, [config_p]),
    "weft_config_key": (c_int, [config_p, c_int, P(c_str), P(c_str), P(c_str)]),
    "weft_node_new": (node_p, [config_p, P(c_int)]),
    "weft_node_start": (c_int, [node_p]),
    "weft_node_stop": (c_int, [node_p]),
    "weft_node_destroy": (None, [P(node_p)]),
    "weft_node_uuid": (c_str, [node_p]),
    "weft_node_name": (c_str, [node_p]),
    "weft_node_error": (c_str, [node_p]),
    "weft_node_fd": (c_int, [node_p]),
    "weft_publish": (c_int, [node_p, c_str, c_void, c_size]),
    "weft_publishv": (c_int, [node_p, c_str, P(c_str), c_size, c_void, c_size]),
    "weft_subscribe": (c_int, [node_p, c_str]),
    "weft_unsubscribe": (c_int, [node_p, c_str]),
    "weft_declare_durable": (c_int, [node_p, c_str, c_str]),
    "weft_subscribe_from": (c_int, [node_p, c_str, c_str]),
    "weft_subscribe_durable": (c_int, [node_p, c_str, c_str, c_str, c_int]),
    "weft_ack": (c_int, [node_p, msg_p]),
    "weft_nack": (c_int, [node_p, msg_p, c_int]),
    "weft_reject": (c_int, [node_p, msg_p]),
    "weft_journal_repair": (c_int, [c_str, P(c_void)]),
    "weft_send": (c_int, [node_p, c_str, c_void, c_size, c_str, c_int]),
    "weft_send_async": (c_int, [node_p, c_str, c_void, c_size, c_str, P(c_u64)]),
    "weft_consume": (c_int, [node_p, c_str, c_int]),
    "weft_cancel": (c_int, [node_p, c_str]),
    "weft_redrive": (c_int, [node_p, c_str, c_int]),
    "weft_recv": (c_int, [node_p, P(msg_p), c_int]),
    "weft_msg_destroy": (None, [P(msg_p)]),
    "weft_msg_kind": (c_int, [msg_p]),
    "weft_msg_kind_name": (c_str, [msg_p]),
    "weft_msg_topic": (c_str, [msg_p]),
    "weft_msg_sender": (c_str, [msg_p]),
    "weft_msg_sender_name": (c_str, [msg_p]),
    "weft_msg_seq": (c_u64, [msg_p]),
    "weft_msg_time_us": (c_i64, [msg_p]),
    "weft_msg_body": (c_void, [msg_p, P(c_size)]),
    "weft_msg_header_count": (c_size, [msg_p]),
    "weft_msg_header_at": (c_int, [msg_p, c_size, P(c_str), P(c_str)]),
    "weft_msg_header": (c_str, [msg_p, c_str]),
    "weft_peers": (c_int, [node_p, P(peers_p)]),
    "weft_peers_destroy": (None, [P(peers_p)]),
    "weft_peers_count": (c_size, [peers_p]),
    "weft_peers_get": (c_str, [peers_p, c_size, c_str]),
    "weft_status": (c_int, [node_p, P(c_void)]),
    "weft_peer_status": (c_int, [node_p, c_str, c_int, P(c_void)]),
}


def _declare(lib):
    """Declares every prototype on LIB; raises LibraryNotFound if one is missing."""
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            func = getattr(lib, name)
        except AttributeError:
            raise LibraryNotFound("%s lacks %s: too old for this binding" % (lib._name, name))
        func.restype = restype
        func.argtypes = argtypes
    major, minor, patch = c_int(), c_int(), c_int()
    lib.weft_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    if major.value != ABI_MAJOR or minor.value < ABI_MINOR:
        raise LibraryNotFound(
            "%s is version %d.%d.%d; this binding needs %d.%d or a later %d.x"
            % (lib._name, major.value, minor.value, patch.value, ABI_MAJOR, ABI_MINOR, ABI_MAJOR)
        )
    return lib


lib = _declare(_load())


def take_string(pointer):
    """Decodes a library-allocated C string at POINTER and frees it."""
    if not pointer:
        return None
    try:
        return ctypes.string_at(pointer).decode("utf-8", "replace")
    finally:
        lib.weft_free(pointer)
