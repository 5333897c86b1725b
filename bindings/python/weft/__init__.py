"""weft - Python bindings for Weft, a brokerless messaging fabric (ctypes over libweft).

    import weft

    cfg = weft.Config({"node.name": "py-1", "discovery.interface": "lo"})
    with weft.Node(cfg) as node:          # started on enter, closed on exit
        node.subscribe("sensors.#")
        node.publish("sensors.t1", b"21.5", headers={"unit": "C"})  # to the other nodes
        msg = node.recv(timeout=1.0)      # a Message, or None after the timeout

Every failing call raises a subclass of weft.Error that carries the library's
code (e.g. weft.EINVAL), its text (weft_strerror) and, where the library has
one, the node's detail (weft_node_error). A closed node raises weft.Closed;
it never crashes the interpreter.

Threads: a Node may be shared by threads (the library serializes receivers);
blocking calls release the GIL. A Config, like a dict, belongs to one thread
at a time. Timeouts are in seconds (floats), None meaning "the default" or
"forever" as each method says.

The library is located as described in weft/_native.py (WEFT_LIBRARY first).
"""

import asyncio
import ctypes
import json
import re
import threading
import uuid as _uuid
import warnings
from collections.abc import Mapping

from ._errors import (
    EADDRINUSE, EAGAIN, ECLOSED, ECORRUPT, EFULL, EINTERNAL, EINVAL, EIO, ELOCKED, EMSGSIZE,
    ENODEV, ENOMEM, ENOSPC, ENOTFOUND, EPROTO, ESTATE, ETIMEDOUT, OK, AddressInUse, Closed,
    Corrupt, Error, InternalError, InvalidArgument, IOFailure, Locked, MessageTooLarge,
    NoDevice, NoSpace, NotFound, OutOfMemory, ProtocolError, QueueFull, StateError, Timeout,
    WouldBlock,
    _buffer, _check, _cstr, _ms)
from ._message import Kind, Message
from ._native import LibraryNotFound, lib, take_string

__all__ = [
    "Config", "Node", "Message", "Kind", "recv_async", "version", "strerror", "journal_repair",
    "LibraryNotFound", "Error", "InvalidArgument", "OutOfMemory", "Closed", "Timeout",
    "WouldBlock", "MessageTooLarge", "ProtocolError", "AddressInUse", "NotFound", "IOFailure",
    "StateError", "NoSpace", "Corrupt", "Locked", "NoDevice", "InternalError", "QueueFull", "OK",
    "EINVAL", "ENOMEM", "ECLOSED", "ETIMEDOUT", "EAGAIN", "EMSGSIZE", "EPROTO", "EADDRINUSE",
    "ENOTFOUND", "EIO", "ESTATE", "ENOSPC", "ECORRUPT", "ELOCKED", "ENODEV", "EINTERNAL", "EFULL",
]


def version():
    """Returns the library version as a (major, minor, patch) tuple."""
    parts = [ctypes.c_int() for _ in range(3)]
    lib.weft_version(*[ctypes.byref(p) for p in parts])
    return tuple(p.value for p in parts)


def strerror(code):
    """Returns the library's text for error CODE."""
    return lib.weft_strerror(code).decode()


def journal_repair(directory):
    """Salvages the journal in DIRECTORY (no process may have it open).
    Raises Error on failure with the library's message as detail."""
    error = ctypes.c_void_p()
    rc = lib.weft_journal_repair(_cstr(str(directory), "journal_repair"), ctypes.byref(error))
    detail = take_string(error.value) or ""
    _check(rc, "journal_repair", detail)


# ---------------------------------------------------------------------------
#   Config


class Config(Mapping):
    """A node configuration: string keys with validated string values.

    Reads like a dict (cfg["node.name"], "key" in cfg, iteration over every
    known key with its current value); writes with cfg[key] = value or
    cfg.set(key, value) (values are converted with str(); True/False become
    "true"/"false"). An unknown key raises NotFound (also a LookupError), a
    bad value InvalidArgument (also a ValueError), each with the library's
    reason as detail. Keys are listed in docs/CONFIG.md.
    """

    def __init__(self, values=None, path=None):
        """Creates a config with every default, then loads PATH (a ZPL file)
        if given, then sets every item of the mapping VALUES."""
        self._handle = ctypes.c_void_p(lib.weft_config_new())
        if not self._handle:
            raise OutOfMemory(op="Config")
        if path is not None:
            self.load(path)
        for key, value in (values or {}).items():
            self.set(key, value)

    def _h(self):
        """Returns the handle or raises Closed."""
        if not self._handle:
            raise Closed(detail="config is closed", op="Config")
        return self._handle

    def set(self, key, value):
        """Sets KEY to VALUE; returns self so that calls chain."""
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        rc = lib.weft_config_set(self._h(), _cstr(key, "config key"),
                                 _cstr(str(value), "config value"))
        _check(rc, "config %s" % key, (lib.weft_config_error(self._handle) or b"").decode())
        return self

    def __setitem__(self, key, value):
        self.set(key, value)

    def __getitem__(self, key):
        if not isinstance(key, str) or "\0" in key:
            raise KeyError(key)
        value = lib.weft_config_get(self._h(), key.encode())
        if value is None:
            raise KeyError(key)
        return value.decode("utf-8", "replace")

    def load(self, path):
        """Loads a ZPL config file; raises with the file, key and reason."""
        rc = lib.weft_config_load(self._h(), _cstr(str(path), "config path"))
        _check(rc, "config load", (lib.weft_config_error(self._handle) or b"").decode())
        return self

    def _key(self, index):
        """Returns (key, value, help) of key INDEX, or the key count for None."""
        key, value, help_ = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
        count = lib.weft_config_key(self._h(), -1 if index is None else index,
                                    ctypes.byref(key), ctypes.byref(value), ctypes.byref(help_))
        if index is None:
            return count
        return tuple((p.value or b"").decode() for p in (key, value, help_))

    def __len__(self):
        return self._key(None)

    def __iter__(self):
        for index in range(len(self)):
            yield self._key(index)[0]

    def describe(self, key):
        """Returns the one-line description of KEY."""
        for index in range(len(self)):
            name, _, help_ = self._key(index)
            if name == key:
                return help_
        raise KeyError(key)

    def close(self):
        """Frees the config. Idempotent; a Node keeps its own copy."""
        if getattr(self, "_handle", None):
            lib.weft_config_destroy(ctypes.byref(self._handle))
            self._handle = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def __repr__(self):
        return "<weft.Config %s>" % ("closed" if not self._handle else "%d keys" % len(self))


# ---------------------------------------------------------------------------
#   Node

_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_PEER_FIELDS = ("uuid", "name", "role", "endpoint", "pub_endpoint", "state", "source", "ready",
                "last_seen_ms")
#   The calls that set weft_node_error () when they fail (libweft 0.1). The
#   detail is never cleared, so after another failure it may be stale: it is
#   attached only for these calls, or when it changed during the call.
_DETAILED = ("start", "consume")
#   recv(None) waits in slices this long, so that Ctrl-C and close() get through.
_RECV_SLICE_MS = 250


class _Use:
    """Holds a node's handle for the duration of one C call (see Node)."""

    __slots__ = ("node", "op")

    def __init__(self, node, op):
        self.node = node
        self.op = op

    def __enter__(self):
        node = self.node
        with node._lock:
            if node._closing or not node._handle:
                raise Closed(detail="node is closed", op=self.op)
            node._busy += 1
            return node._handle

    def __exit__(self, *exc):
        node = self.node
        with node._lock:
            node._busy -= 1
            if node._busy == 0:
                node._idle.notify_all()


class Node:
    """One agent of the fabric. Node(config) creates it (config: a Config or
    a mapping of keys, copied); start() binds and discovers; stop() leaves the
    fabric (recv then drains and raises Closed); close() stops and frees it.
    As a context manager it is started on enter and closed on exit.

    close() waits for calls running in other threads to return (stop wakes a
    blocked recv, but a send waits up to its timeout), then frees the handle;
    any later call raises Closed.
    """

    def __init__(self, config=None):
        cfg = config if isinstance(config, Config) else Config(config or {})
        err = ctypes.c_int()
        handle = lib.weft_node_new(cfg._h(), ctypes.byref(err))
        if cfg is not config:
            cfg.close()
        if not handle:
            raise Error.from_code(err.value, op="Node")
        self._handle = ctypes.c_void_p(handle)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._closing = False
        self._wakers = set()  # recv_async waiters to wake at close
        #   both are fixed when the node is created and stay readable after close
        self._uuid = lib.weft_node_uuid(self._handle).decode()
        self._name = lib.weft_node_name(self._handle).decode("utf-8", "replace")
        self._started = False

    def _use(self, op):
        """A context holding the handle for one call named OP (raises Closed)."""
        return _Use(self, op)

    def _detail(self, handle):
        """The node's detail for its last failed call ("" if none)."""
        return (lib.weft_node_error(handle) or b"").decode("utf-8", "replace")

    def _call(self, op, func, *args):
        """Calls FUNC(handle, *ARGS); raises an Error named OP on failure,
        with the node's detail when it is about this call (see _DETAILED)."""
        with self._use(op) as handle:
            before = lib.weft_node_error(handle)
            rc = func(handle, *args)
            if rc < 0:
                after = self._detail(handle)
                fresh = op in _DETAILED or after != (before or b"").decode("utf-8", "replace")
                raise Error.from_code(rc, after if fresh else "", op)
            return rc

    # -- life cycle --------------------------------------------------------

    def start(self):
        """Binds the sockets, opens the journal, starts discovery."""
        self._call("start", lib.weft_node_start)
        self._started = True
        return self

    def stop(self):
        """Leaves the fabric (peers see it leave at once). Idempotent, also
        after close()."""
        try:
            with self._use("stop") as handle:
                lib.weft_node_stop(handle)
        except Closed:
            pass

    def close(self):
        """Stops the node if needed and frees it. Idempotent."""
        with self._lock:
            if self._closing or not self._handle:
                return
            self._closing = True
            handle = self._handle
            self._busy += 1
        lib.weft_node_stop(handle)  # wakes a blocked recv
        with self._lock:
            self._busy -= 1
            while self._busy:
                self._idle.wait()
            lib.weft_node_destroy(ctypes.byref(self._handle))
            self._handle = ctypes.c_void_p()
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    @property
    def closed(self):
        return self._closing or not self._handle

    def __enter__(self):
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_handle", None) and not self._closing:
                warnings.warn("weft.Node %s was not closed" % self._name, ResourceWarning,
                              source=self)
                self.close()
        except Exception:  # interpreter shutdown
            pass

    @property
    def uuid(self):
        """The node's UUID (32 hex digits), fixed for the node's lifetime."""
        return self._uuid

    @property
    def name(self):
        """The node's name (node.name, default HOST-PID)."""
        return self._name

    def fd(self):
        """A file descriptor that becomes readable when recv may have
        something: when it is, call recv(0) until it returns None. Do not read
        or close it; it is closed by close()."""
        return self._call("fd", lib.weft_node_fd)

    def __repr__(self):
        return "<weft.Node %s %s%s>" % (self._name or "?", self._uuid[:8] or "?",
                                        " closed" if self.closed else "")

    # -- pub/sub -----------------------------------------------------------

    def publish(self, topic, body=b"", headers=None):
        """Publishes BODY (bytes-like) on TOPIC with optional HEADERS (a
        mapping of str to str; values are converted with str())."""
        data, size = _buffer(body, "publish")
        topic_c = _cstr(topic, "publish topic")
        if not headers:
            self._call("publish", lib.weft_publish, topic_c, data, size)
            return
        pairs = []
        for key, value in headers.items():
            pairs += [_cstr(key, "header key"), _cstr(str(value) if not isinstance(
                value, (bytes, str)) else value, "header value")]
        array = (ctypes.c_char_p * len(pairs))(*pairs)
        self._call("publish", lib.weft_publishv, topic_c, array, len(headers), data, size)

    def subscribe(self, pattern):
        """Subscribes to PATTERN (segments, '*' one, trailing '#' any)."""
        self._call("subscribe", lib.weft_subscribe, _cstr(pattern, "pattern"))

    def unsubscribe(self, pattern):
        """Undoes one subscribe of PATTERN (NotFound if not subscribed)."""
        self._call("unsubscribe", lib.weft_unsubscribe, _cstr(pattern, "pattern"))

    # -- durable topics ----------------------------------------------------

    def declare_durable(self, pattern, retention=None):
        """Journals topics matching PATTERN published by this node. RETENTION:
        None (keep all), a str "max_age_ms=N,..." or a dict of those keys."""
        if isinstance(retention, Mapping):
            retention = ",".join("%s=%d" % (k, v) for k, v in retention.items())
        self._call("declare_durable", lib.weft_declare_durable, _cstr(pattern, "pattern"),
                   None if retention is None else _cstr(retention, "retention"))

    def subscribe_from(self, pattern, start):
        """Subscribes to PATTERN from START: "latest", "earliest", "seq:N"
        or "time:T" (Unix seconds)."""
        self._call("subscribe_from", lib.weft_subscribe_from, _cstr(pattern, "pattern"),
                   _cstr(start, "start"))

    def subscribe_durable(self, pattern, name, start="earliest", auto_ack=False):
        """A durable named subscription resuming after the last ack under NAME."""
        self._call("subscribe_durable", lib.weft_subscribe_durable, _cstr(pattern, "pattern"),
                   _cstr(name, "name"), _cstr(start, "start"), 1 if auto_ack else 0)

    # -- receiving ---------------------------------------------------------

    def recv(self, timeout=None):
        """Returns the next Message, or None when none came within TIMEOUT
        seconds (0: do not wait; None: wait forever). Raises Closed once the
        node is stopped and what it had received is drained."""
        remaining = _ms(timeout, -1)
        while True:
            wait = _RECV_SLICE_MS if remaining < 0 else min(remaining, _RECV_SLICE_MS)
            handle_out = ctypes.c_void_p()
            with self._use("recv") as handle:
                rc = lib.weft_recv(handle, ctypes.byref(handle_out), wait)
                if rc == 0:
                    return Message(handle_out)
                if rc not in (EAGAIN, ETIMEDOUT):
                    raise Error.from_code(rc, "", "recv")
            if remaining >= 0:
                remaining -= wait
                if remaining <= 0:
                    return None

    def ack(self, msg):
        """Acknowledges MSG: a queue delivery is removed by its owner; a topic
        message advances the durable subscriptions covering its topic."""
        self._settle(msg, "ack", lib.weft_ack)

    def nack(self, msg, delay=0):
        """Has the delivery MSG delivered again (after DELAY seconds)."""
        self._settle(msg, "nack", lib.weft_nack, _ms(delay, 0))

    def reject(self, msg):
        """Moves the delivery MSG to the dead-letter queue '<queue>.dlq'."""
        self._settle(msg, "reject", lib.weft_reject)

    def _settle(self, msg, op, func, *args):
        """Settles MSG with FUNC; a settled delivery's native copy is freed."""
        with self._use(op) as handle:
            rc = msg._settle(lambda m, *a: func(handle, m, *a), op, *args)
            if rc < 0:
                raise Error.from_code(rc, "", op)  # settle calls set no node detail
        if msg.kind == Kind.DELIVERY:
            msg.release()

    # -- queues ------------------------------------------------------------

    @staticmethod
    def _send_options(id, priority, replication, acks):
        """Builds the options string of a send, validating each part (a comma
        or '=' in a value would otherwise inject another option)."""
        options = []
        if id is not None:
            if not isinstance(id, str) or not _ID_RE.match(id):
                raise InvalidArgument(detail="id must be 1..128 of [A-Za-z0-9_.:-]", op="send")
            options.append("id=" + id)
        if not isinstance(priority, int) or not 0 <= priority <= 9:
            raise InvalidArgument(detail="priority must be 0..9", op="send")
        options.append("priority=%d" % priority)
        if replication is not None:
            if not isinstance(replication, int) or not 1 <= replication <= 9:
                raise InvalidArgument(detail="replication must be 1..9", op="send")
            options.append("replication=%d" % replication)
        if acks is not None:
            if acks not in ("all", "owner"):
                raise InvalidArgument(detail="acks must be 'all' or 'owner'", op="send")
            options.append("acks=" + acks)
        return ",".join(options).encode()

    def send(self, queue, body, id=None, priority=0, timeout=None, replication=None, acks=None):
        """Sends BODY to QUEUE and waits until the owner confirms (TIMEOUT
        seconds; None: queues.send_timeout_ms). Returns the message id: ID, or
        one generated here, so that after a Timeout (whose .msg_id has it) the
        same message can be sent again without being enqueued twice."""
        id = id if id is not None else _uuid.uuid4().hex
        options = self._send_options(id, priority, replication, acks)
        data, size = _buffer(body, "send")
        try:
            self._call("send", lib.weft_send, _cstr(queue, "queue"), data, size, options,
                       _ms(timeout, -1))
        except Error as exc:
            exc.msg_id = id
            raise
        return id

    def send_async(self, queue, body, id=None, priority=0, replication=None, acks=None):
        """Sends without waiting; returns a token (int). The outcome arrives
        as a CONFIRM message whose seq is the token (headers: status, duplicate,
        msg_id; without ID the library generates one). Raises WouldBlock when
        queues.window sends are unconfirmed."""
        options = self._send_options(id, priority, replication, acks)
        data, size = _buffer(body, "send_async")
        token = ctypes.c_uint64()
        self._call("send_async", lib.weft_send_async, _cstr(queue, "queue"), data, size, options,
                   ctypes.byref(token))
        return token.value

    def consume(self, queue, prefetch=10):
        """Starts a consumer of QUEUE with at most PREFETCH unsettled
        deliveries; they arrive from recv() as Kind.DELIVERY messages."""
        self._call("consume", lib.weft_consume, _cstr(queue, "queue"), int(prefetch))

    def cancel(self, queue):
        """Stops every consumer of QUEUE on this node."""
        self._call("cancel", lib.weft_cancel, _cstr(queue, "queue"))

    def redrive(self, queue, timeout=None):
        """Moves the dead letters of QUEUE back to it; returns how many."""
        return self._call("redrive", lib.weft_redrive, _cstr(queue, "queue"), _ms(timeout, 0))

    # -- introspection -----------------------------------------------------

    def peers(self):
        """Returns the peer table: a list of dicts with the keys uuid, name,
        role, endpoint, pub_endpoint, state, source, ready (bool) and
        last_seen_ms (int)."""
        snapshot = ctypes.c_void_p()
        self._call("peers", lib.weft_peers, ctypes.byref(snapshot))
        try:
            rows = []
            for index in range(lib.weft_peers_count(snapshot)):
                row = {}
                for field in _PEER_FIELDS:
                    value = lib.weft_peers_get(snapshot, index, field.encode())
                    row[field] = (value or b"").decode("utf-8", "replace")
                row["ready"] = row["ready"] == "yes"
                row["last_seen_ms"] = int(row["last_seen_ms"] or 0)
                rows.append(row)
            return rows
        finally:
            lib.weft_peers_destroy(ctypes.byref(snapshot))

    def status(self):
        """Returns the node's status, counters and journal streams (a dict)."""
        out = ctypes.c_void_p()
        self._call("status", lib.weft_status, ctypes.byref(out))
        return json.loads(take_string(out.value) or "{}")

    def peer_status(self, uuid, timeout=5.0):
        """Asks peer UUID for its status over the network (a dict)."""
        out = ctypes.c_void_p()
        self._call("peer_status", lib.weft_peer_status, _cstr(uuid, "uuid"), _ms(timeout, 5000),
                   ctypes.byref(out))
        return json.loads(take_string(out.value) or "{}")


# ---------------------------------------------------------------------------
#   asyncio


async def recv_async(node, timeout=None):
    """Awaits the next Message of NODE without blocking the event loop, or
    returns None after TIMEOUT seconds. Uses loop.add_reader on node.fd():
    the fd only says "something may have changed", so each wake-up drains with
    recv(0) until nothing is ready. Raises Closed when the node is closed."""
    msg = node.recv(0)
    if msg is not None:
        return msg
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    fd = node.fd()
    state = {"future": loop.create_future()}

    def wake():
        future = state["future"]
        if not future.done():
            future.set_result(None)

    def wake_threadsafe():
        loop.call_soon_threadsafe(wake)

    loop.add_reader(fd, wake)
    node._wakers.add(wake_threadsafe)
    try:
        while True:
            msg = node.recv(0)  # after registering: nothing slips between check and wait
            if msg is not None:
                return msg
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return None
            try:
                await asyncio.wait_for(state["future"], left)
            except asyncio.TimeoutError:
                return None
            state["future"] = loop.create_future()
    finally:
        node._wakers.discard(wake_threadsafe)
        try:
            loop.remove_reader(fd)
        except (OSError, ValueError):
            pass
