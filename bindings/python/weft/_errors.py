"""weft._errors - error codes, the Error classes, and argument helpers.

Re-exported by the weft package; import from there.
"""

import math

from ._native import lib

# ---------------------------------------------------------------------------
#   Errors

OK = 0
EINVAL = -1
ENOMEM = -2
ECLOSED = -3
ETIMEDOUT = -4
EAGAIN = -5
EMSGSIZE = -6
EPROTO = -7
EADDRINUSE = -8
ENOTFOUND = -9
EIO = -10
ESTATE = -11
ENOSPC = -12
ECORRUPT = -13
ELOCKED = -14
ENODEV = -15
EINTERNAL = -16
EFULL = -17


class Error(Exception):
    """A Weft call failed. Attributes: code (negative WEFT_E* value), name
    ("WEFT_EINVAL"), message (weft_strerror), detail (the library's or the
    binding's explanation, may be ""), op (the call that failed)."""

    code = None  # set on the subclasses bound to one code

    def __init__(self, code, detail="", op=""):
        self.code = code
        self.name = lib.weft_errname(code).decode()
        self.message = lib.weft_strerror(code).decode()
        self.detail = detail or ""
        self.op = op
        text = "%s: %s" % (op, self.message) if op else self.message
        if self.detail:
            text += " (%s)" % self.detail
        super().__init__(text + " [%s]" % self.name)

    @staticmethod
    def from_code(code, detail="", op=""):
        """Returns an instance of the subclass registered for CODE (Error itself
        for a code this binding does not know)."""
        return _ERROR_CLASSES.get(code, Error)(code, detail, op)


def _error_class(name, code, *bases, doc=""):
    """Creates an Error subclass for CODE, also derived from BASES."""
    cls = type(name, (Error,) + bases, {"__doc__": doc, "__module__": "weft", "code": code})

    def __init__(self, code=code, detail="", op=""):
        Error.__init__(self, code, detail, op)

    cls.__init__ = __init__
    return cls


InvalidArgument = _error_class("InvalidArgument", EINVAL, ValueError,
                               doc="WEFT_EINVAL: an argument or config value is invalid.")
OutOfMemory = _error_class("OutOfMemory", ENOMEM, MemoryError, doc="WEFT_ENOMEM.")
Closed = _error_class("Closed", ECLOSED, doc="WEFT_ECLOSED: the node is stopped or closed.")
Timeout = _error_class("Timeout", ETIMEDOUT, TimeoutError,
                       doc="WEFT_ETIMEDOUT: nothing happened before the timeout.")
WouldBlock = _error_class("WouldBlock", EAGAIN, BlockingIOError,
                          doc="WEFT_EAGAIN: nothing ready now, or the send window is full.")
MessageTooLarge = _error_class("MessageTooLarge", EMSGSIZE, ValueError,
                               doc="WEFT_EMSGSIZE: over limits.max_message / max_header.")
ProtocolError = _error_class("ProtocolError", EPROTO, doc="WEFT_EPROTO.")
AddressInUse = _error_class("AddressInUse", EADDRINUSE, OSError, doc="WEFT_EADDRINUSE.")
NotFound = _error_class("NotFound", ENOTFOUND, LookupError,
                        doc="WEFT_ENOTFOUND: no such key, peer, stream, queue or delivery.")
IOFailure = _error_class("IOFailure", EIO, OSError, doc="WEFT_EIO: socket or disk error.")
StateError = _error_class("StateError", ESTATE,
                          doc="WEFT_ESTATE: the call does not fit the object's state.")
NoSpace = _error_class("NoSpace", ENOSPC, OSError, doc="WEFT_ENOSPC: the disk is full.")
Corrupt = _error_class("Corrupt", ECORRUPT, doc="WEFT_ECORRUPT: see journal_repair().")
Locked = _error_class("Locked", ELOCKED, doc="WEFT_ELOCKED: journal used by another process.")
NoDevice = _error_class("NoDevice", ENODEV, OSError, doc="WEFT_ENODEV: no usable interface.")
InternalError = _error_class("InternalError", EINTERNAL, doc="WEFT_EINTERNAL: a bug in Weft.")
QueueFull = _error_class("QueueFull", EFULL,
                         doc="WEFT_EFULL: the queue is at its limit; the send was refused.")

#   code -> class, for Error.from_code
_ERROR_CLASSES = {cls.code: cls for cls in (
    InvalidArgument, OutOfMemory, Closed, Timeout, WouldBlock, MessageTooLarge, ProtocolError,
    AddressInUse, NotFound, IOFailure, StateError, NoSpace, Corrupt, Locked, NoDevice,
    InternalError, QueueFull)}


def _check(rc, op, detail=""):
    """Raises the Error for RC if it is negative; returns RC otherwise."""
    if rc < 0:
        raise Error.from_code(rc, detail, op)
    return rc


def _cstr(value, what):
    """Encodes a str (or bytes) argument for C. Raises InvalidArgument for an
    embedded NUL, which C would silently truncate at."""
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if b"\0" in data:
        raise InvalidArgument(detail="%s contains a NUL byte" % what, op=what)
    return data


def _ms(timeout, none_value):
    """Converts a timeout in seconds to whole milliseconds for C (rounded up,
    capped to an int); None becomes NONE_VALUE."""
    if timeout is None:
        return none_value
    if timeout < 0:
        raise InvalidArgument(detail="timeout must be >= 0 or None", op="timeout")
    ms = timeout * 1000
    return 2**31 - 1 if ms >= 2**31 - 1 else math.ceil(ms)


def _buffer(body, op):
    """Returns (pointer-compatible object, length) for a bytes-like BODY."""
    if isinstance(body, str):
        raise InvalidArgument(detail="body must be bytes, not str (encode it)", op=op)
    data = bytes(body)
    return data, len(data)
