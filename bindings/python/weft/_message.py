"""weft._message - Message and Kind: what recv() returns.

Re-exported by the weft package; import from there.
"""

import ctypes
import enum
import threading

from ._errors import InvalidArgument, NotFound
from ._native import lib

class Kind(enum.IntEnum):
    """The kind of a received Message (WEFT_MSG_*)."""

    MESSAGE = 1
    JOIN = 2
    LEAVE = 3
    EVASIVE = 4
    EXPIRED = 5
    GAP = 6
    TRUNCATED = 7
    DELIVERY = 8
    CONFIRM = 9


#   Kinds that can be settled with ack (and, for deliveries, nack/reject):
#   their native message is kept until the Message is settled or released.
_SETTLEABLE = (Kind.MESSAGE, Kind.DELIVERY)


class Message:
    """A message or membership event, copied out of the library.

    Attributes: kind (a Kind, or a plain int for a kind newer than this
    binding), kind_name ("message", "join", "delivery", ...), topic (the
    queue for deliveries and confirms), sender (UUID, 32 hex), sender_name,
    seq (sequence; the delivery id of a delivery; the token of a confirm;
    the lost count of a gap), time_us (publisher's clock), body (bytes),
    headers (dict of str).

    A topic message or queue delivery keeps the library's message, which
    Node.ack/nack/reject need, until it is released: by release(), by the end
    of a with block, by a successful nack/reject/ack of a delivery, or when
    the Message is garbage collected.
    """

    __slots__ = ("kind", "kind_name", "topic", "sender", "sender_name", "seq", "time_us",
                 "body", "headers", "_handle", "_lock", "__weakref__")

    def __init__(self, handle):
        """Copies every field of the native message HANDLE (a c_void_p) and
        takes ownership of it."""
        code = lib.weft_msg_kind(handle)
        try:
            self.kind = Kind(code)
        except ValueError:
            self.kind = code
        self.kind_name = lib.weft_msg_kind_name(handle).decode()
        self.topic = lib.weft_msg_topic(handle).decode("utf-8", "replace")
        self.sender = lib.weft_msg_sender(handle).decode("utf-8", "replace")
        self.sender_name = lib.weft_msg_sender_name(handle).decode("utf-8", "replace")
        self.seq = lib.weft_msg_seq(handle)
        self.time_us = lib.weft_msg_time_us(handle)
        size = ctypes.c_size_t()
        data = lib.weft_msg_body(handle, ctypes.byref(size))
        self.body = ctypes.string_at(data, size.value) if data and size.value else b""
        self.headers = {}
        key, value = ctypes.c_char_p(), ctypes.c_char_p()
        for index in range(lib.weft_msg_header_count(handle)):
            if lib.weft_msg_header_at(handle, index, ctypes.byref(key), ctypes.byref(value)):
                break
            self.headers[key.value.decode("utf-8", "replace")] = (
                value.value.decode("utf-8", "replace"))
        if self.kind == Kind.CONFIRM and not self.headers:
            self._confirm_headers_from_body()
        self._lock = threading.Lock()
        self._handle = handle
        if self.kind not in _SETTLEABLE:
            self.release()

    def _confirm_headers_from_body(self):
        """Workaround for libweft 0.1.0: a CONFIRM is emitted without a body
        frame (node/queue_client.c complete() passes body NULL and node_emit
        skips NULL parts), so its header block arrives as the body. A confirm
        has no body by contract: read the "k\\0v\\0" block from there. Dormant
        once the library sends the headers in their own frame."""
        parts = self.body[:-1].split(b"\0") if self.body.endswith(b"\0") else []
        if parts and len(parts) % 2 == 0:
            text = [p.decode("utf-8", "replace") for p in parts]
            self.headers = dict(zip(text[0::2], text[1::2]))
            self.body = b""

    @property
    def time(self):
        """The publisher's timestamp in seconds since the epoch (float)."""
        return self.time_us / 1e6

    def release(self):
        """Frees the library's copy (the Python fields stay). Idempotent."""
        with self._lock:
            if self._handle:
                lib.weft_msg_destroy(ctypes.byref(self._handle))
                self._handle = None

    def _settle(self, func, op, *args):
        """Calls FUNC (node handle, message handle, *ARGS) under the message
        lock; returns its code, or raises when the message was released."""
        with self._lock:
            if not self._handle:
                if self.kind == Kind.DELIVERY:
                    raise NotFound(detail="delivery already settled or released", op=op)
                raise InvalidArgument(detail="a %s cannot be settled" % self.kind_name, op=op)
            return func(self._handle, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self):
        return "<weft.Message %s %s from %s seq=%d %d bytes>" % (
            self.kind_name, self.topic, self.sender_name or self.sender[:8], self.seq,
            len(self.body))
