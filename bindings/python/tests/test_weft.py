"""Tests of the Python binding: nodes in this process on loopback.

Run from bindings/python with `python3 -m unittest` or `pytest-3`, the
library found through WEFT_LIBRARY (bindings/test.sh sets it). Discovery is
pinned to lo with a cluster name and a beacon port private to this process;
nothing is sent on another interface. Tests wait for events with deadlines
(recv timeouts), never by sleeping.
"""

import asyncio
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import weft  # noqa: E402

WAIT = 10.0  # seconds: the deadline of every wait
PORT = 20000 + (os.getpid() * 11 + 3) % 40000  # beacon port of this process
CLUSTER = "py-test-%d-%d" % (os.getpid(), PORT)


def config(name, **extra):
    """A loopback config for node NAME; EXTRA keys use '_' for '.' once,
    e.g. journal_dir=... -> journal.dir."""
    cfg = weft.Config({
        "node.name": name,
        "cluster.name": CLUSTER,
        "discovery.interface": "lo",
        "discovery.port": PORT,
        "discovery.interval_ms": 100,
        "discovery.evasive_ms": 400,
        "discovery.expired_ms": 800,
        "log.level": "error",
    })
    for key, value in extra.items():
        cfg[key.replace("_", ".", 1)] = value
    return cfg


def started(name, **extra):
    """Creates and starts node NAME."""
    return weft.Node(config(name, **extra)).start()


def ready_peers(node):
    """How many peers NODE sees alive with their subscriptions arrived."""
    return sum(1 for p in node.peers() if p["state"] == "alive" and p["ready"])


def wait_until(node, predicate, what):
    """Receives on NODE (dropping what comes) until PREDICATE() holds; fails
    after WAIT seconds. Readiness changes without an event, so each wait is a
    short recv."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not true after %.0f s: %s" % (node.name, WAIT, what))
        node.recv(timeout=0.02)


def wait_ready(node, count):
    wait_until(node, lambda: ready_peers(node) >= count, "%d ready peers" % count)


def wait_kind(node, kind, timeout=WAIT):
    """Receives on NODE until a message of KIND arrives (others dropped);
    returns it, or None after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        msg = node.recv(timeout=left)
        if msg is not None and msg.kind == kind:
            return msg


class PubSubTest(unittest.TestCase):
    """Two nodes discover each other and exchange topic messages."""

    @classmethod
    def setUpClass(cls):
        cls.a = started("py-a")
        cls.addClassCleanup(cls.a.close)
        #   subscribe before b exists: "ready" means the subscriptions a had
        #   when b connected reached b; one made later has no such signal
        cls.a.subscribe("py.#")
        cls.b = started("py-b")
        cls.addClassCleanup(cls.b.close)
        wait_ready(cls.a, 1)
        wait_ready(cls.b, 1)

    def test_discovery(self):
        peers = self.a.peers()
        self.assertEqual(len(peers), 1)
        peer = peers[0]
        self.assertEqual(peer["uuid"], self.b.uuid)
        self.assertEqual(peer["name"], "py-b")
        self.assertEqual(peer["role"], "member")
        self.assertTrue(peer["endpoint"].startswith("tcp://127.0.0.1:"))
        self.assertEqual(len(self.a.uuid), 32)
        status = self.a.status()
        self.assertEqual(status["uuid"], self.a.uuid)
        self.assertEqual(status["cluster"], CLUSTER)
        remote = self.a.peer_status(self.b.uuid, timeout=WAIT)
        self.assertEqual(remote["name"], "py-b")

    def test_publish_with_headers(self):
        body = bytes(range(256))  # binary, with NULs
        self.b.publish("py.sensors.t1", body, headers={"unit": "C", "n": 7})
        msg = wait_kind(self.a, weft.Kind.MESSAGE)
        self.assertIsNotNone(msg, "no message within %s s" % WAIT)
        self.assertEqual(msg.kind_name, "message")
        self.assertEqual(msg.topic, "py.sensors.t1")
        self.assertEqual(msg.body, body)
        self.assertEqual(msg.headers, {"unit": "C", "n": "7"})
        self.assertEqual(msg.sender, self.b.uuid)
        self.assertEqual(msg.sender_name, "py-b")
        self.assertGreaterEqual(msg.seq, 1)
        self.assertGreater(msg.time_us, 0)
        msg.release()

    def test_recv_async(self):
        async def main():
            waiter = asyncio.ensure_future(weft.recv_async(self.a, timeout=WAIT))
            await asyncio.sleep(0)  # let it register its reader first
            self.b.publish("py.async", b"hi")
            while True:
                msg = await waiter
                if msg is None or msg.kind == weft.Kind.MESSAGE:
                    return msg
                waiter = asyncio.ensure_future(weft.recv_async(self.a, timeout=WAIT))

        msg = asyncio.run(main())
        self.assertIsNotNone(msg)
        self.assertEqual((msg.topic, msg.body), ("py.async", b"hi"))

    def test_recv_timeout(self):
        while self.b.recv(timeout=0) is not None:  # drain
            pass
        started_at = time.monotonic()
        self.assertIsNone(self.b.recv(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - started_at, 0.04)

    def test_errors(self):
        with self.assertRaises(weft.Error) as ctx:
            self.a.publish("bad..topic", b"x")
        self.assertEqual(ctx.exception.code, weft.EINVAL)
        self.assertEqual(ctx.exception.name, "WEFT_EINVAL")
        self.assertIsInstance(ctx.exception, weft.InvalidArgument)
        self.assertIsInstance(ctx.exception, ValueError)
        self.assertIn("invalid argument", str(ctx.exception))
        with self.assertRaises(weft.InvalidArgument):
            self.a.publish("ok\0hidden", b"x")  # C would truncate at the NUL
        with self.assertRaises(weft.InvalidArgument):
            self.a.subscribe("a.#.b")
        with self.assertRaises(weft.NotFound) as ctx:
            self.a.unsubscribe("never.subscribed")
        self.assertEqual(ctx.exception.code, weft.ENOTFOUND)
        with self.assertRaises(weft.MessageTooLarge):
            self.a.publish("ok", b"x" * (1024 * 1024 + 1))
        with self.assertRaises(weft.InvalidArgument):
            self.a.publish("ok", "text, not bytes")
        with self.assertRaises(weft.StateError):  # no journal
            self.a.declare_durable("py.durable.#")
        with self.assertRaises(weft.InvalidArgument):
            self.a.send("q", b"x", id="a,priority=9")  # no option injection
        with self.assertRaises(weft.NotFound) as ctx:  # no member has a journal
            self.a.consume("py.nowhere", 1)
        self.assertTrue(ctx.exception.detail)  # the node says why
        with self.assertRaises(weft.InvalidArgument) as ctx:
            self.a.publish("bad..topic", b"")
        self.assertEqual(ctx.exception.detail, "")  # not the stale consume detail


class ConfigTest(unittest.TestCase):
    def test_dict_like(self):
        cfg = weft.Config({"node.name": "cfg"})
        self.assertEqual(cfg["node.name"], "cfg")
        self.assertEqual(cfg.get("no.such.key", "dflt"), "dflt")
        self.assertIn("journal.dir", cfg)
        self.assertGreater(len(dict(cfg)), 10)
        cfg["discovery.enabled"] = False
        self.assertEqual(cfg["discovery.enabled"], "false")
        self.assertTrue(cfg.describe("node.role"))
        cfg.close()
        cfg.close()

    def test_errors_carry_the_reason(self):
        cfg = weft.Config()
        with self.assertRaises(weft.NotFound) as ctx:
            cfg["no.such.key"] = "1"
        self.assertIn("no.such.key", ctx.exception.detail)
        with self.assertRaises(weft.InvalidArgument) as ctx:
            cfg["discovery.port"] = "many"
        self.assertTrue(ctx.exception.detail)

    def test_load(self):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
            f.write("node\n    name = from-file\ncluster\n    name = c1\n")
        try:
            cfg = weft.Config(path=f.name)
            self.assertEqual((cfg["node.name"], cfg["cluster.name"]), ("from-file", "c1"))
            with self.assertRaises(weft.IOFailure):
                cfg.load(f.name + ".missing")
        finally:
            os.unlink(f.name)


class LifecycleTest(unittest.TestCase):
    def test_closed_node_raises(self):
        node = started("py-closed", cluster_name=CLUSTER + "-alone")
        self.addCleanup(node.close)
        uuid = node.uuid
        node.close()
        for call in (lambda: node.publish("t", b"x"), lambda: node.recv(0),
                     lambda: node.subscribe("t"), node.fd, node.status, node.peers,
                     lambda: node.send("q", b"x")):
            with self.assertRaises(weft.Closed) as ctx:
                call()
            self.assertEqual(ctx.exception.code, weft.ECLOSED)
        node.close()  # idempotent
        node.stop()
        self.assertEqual(node.uuid, uuid)  # still readable
        self.assertTrue(node.closed)

    def test_stopped_node_drains_then_raises(self):
        with weft.Node(config("py-stopped", cluster_name=CLUSTER + "-alone")) as node:
            self.assertGreaterEqual(node.fd(), 0)
            node.stop()
            with self.assertRaises(weft.Closed):
                node.publish("t", b"x")
            with self.assertRaises(weft.Closed):
                while True:  # drains what was received, then says closed
                    node.recv(timeout=WAIT)
        self.assertTrue(node.closed)

    def test_recv_async_timeout_and_close(self):
        node = started("py-async-close", cluster_name=CLUSTER + "-alone")
        self.addCleanup(node.close)

        async def main():
            while await weft.recv_async(node, timeout=0) is not None:
                pass  # drain
            self.assertIsNone(await weft.recv_async(node, timeout=0.05))
            waiter = asyncio.ensure_future(weft.recv_async(node))
            await asyncio.sleep(0)  # let it register its reader first
            node.close()
            with self.assertRaises(weft.Closed):
                await asyncio.wait_for(waiter, WAIT)

        asyncio.run(main())

    def test_close_wakes_a_blocked_receiver(self):
        import threading
        node = started("py-blocked", cluster_name=CLUSTER + "-alone")
        self.addCleanup(node.close)
        errors = []

        def receive():
            try:
                while True:
                    node.recv()
            except weft.Closed as exc:
                errors.append(exc)

        thread = threading.Thread(target=receive)
        thread.start()
        node.close()
        thread.join(WAIT)
        self.assertFalse(thread.is_alive())
        self.assertEqual(len(errors), 1)


class QueueTest(unittest.TestCase):
    """Two member nodes with journals: send, consume, ack."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="weft-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)  # runs last
        extra = {"journal_dir": None, "journal_sync": "async", "queues_replication": 1,
                 "cluster_name": CLUSTER + "-queues"}
        self.nodes = []
        for name in ("py-m0", "py-m1"):
            extra["journal_dir"] = os.path.join(self.dir, name)
            self.nodes.append(started(name, **extra))
            self.addCleanup(self.nodes[-1].close)
        for node in self.nodes:
            wait_ready(node, 1)
            wait_until(node, lambda: len(node.status()["ring"]["members"]) == 2,
                       "a ring of 2 members")

    def test_send_consume_ack(self):
        producer, consumer = self.nodes
        msg_id = producer.send("py.jobs", b"job-1", timeout=WAIT)
        self.assertEqual(producer.send("py.jobs", b"job-1", id=msg_id, timeout=WAIT), msg_id)
        producer.send("py.jobs", b"job-2", id="second", priority=0, timeout=WAIT)
        consumer.consume("py.jobs", prefetch=5)
        first = wait_kind(consumer, weft.Kind.DELIVERY)
        self.assertIsNotNone(first, "no delivery within %s s" % WAIT)
        self.assertEqual((first.topic, first.body), ("py.jobs", b"job-1"))
        self.assertEqual(first.headers["msg_id"], msg_id)
        self.assertEqual(first.headers["deliveries"], "1")
        consumer.ack(first)
        with self.assertRaises(weft.NotFound):
            consumer.ack(first)
        second = wait_kind(consumer, weft.Kind.DELIVERY)
        self.assertEqual((second.body, second.headers["msg_id"]), (b"job-2", "second"))
        consumer.nack(second)
        again = wait_kind(consumer, weft.Kind.DELIVERY)
        self.assertEqual((again.body, again.headers["deliveries"]), (b"job-2", "2"))
        consumer.ack(again)
        self.assertIsNone(wait_kind(consumer, weft.Kind.DELIVERY, timeout=0.3))  # no duplicate
        consumer.cancel("py.jobs")

    def test_send_async_confirms(self):
        producer = self.nodes[0]
        token = producer.send_async("py.async-jobs", b"x", id="async-1")
        confirm = wait_kind(producer, weft.Kind.CONFIRM)
        self.assertIsNotNone(confirm)
        self.assertEqual((confirm.seq, confirm.topic), (token, "py.async-jobs"))
        self.assertEqual(confirm.headers.get("status"), "0")
        self.assertEqual(confirm.headers.get("msg_id"), "async-1")


if __name__ == "__main__":
    unittest.main()
