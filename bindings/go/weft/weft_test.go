package weft

// Tests over loopback only: discovery pinned to lo with a cluster name and
// beacon port private to this process; every wait has a deadline (Recv
// timeouts), nothing sleeps. Run by bindings/test.sh, which points cgo at a
// build directory.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const wait = 10 * time.Second

var (
	beaconPort = 20000 + (os.Getpid()*17+9)%40000
	cluster    = fmt.Sprintf("go-test-%d-%d", os.Getpid(), beaconPort)
)

// config returns a loopback config for node NAME plus EXTRA key/value pairs.
func config(t *testing.T, name string, extra ...string) *Config {
	t.Helper()
	cfg := NewConfig()
	pairs := append([]string{
		"node.name", name,
		"cluster.name", cluster,
		"discovery.interface", "lo",
		"discovery.port", fmt.Sprint(beaconPort),
		"discovery.interval_ms", "100",
		"discovery.evasive_ms", "400",
		"discovery.expired_ms", "800",
		"log.level", "error",
	}, extra...)
	for i := 0; i < len(pairs); i += 2 {
		if err := cfg.Set(pairs[i], pairs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// started creates and starts node NAME; it is closed when the test ends.
func started(t *testing.T, name string, extra ...string) *Node {
	t.Helper()
	cfg := config(t, name, extra...)
	defer cfg.Close()
	node, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	return node
}

// waitUntil receives on NODE (dropping what comes) until COND holds, or
// fails after the deadline. Readiness changes without an event, so each wait
// is a short Recv.
func waitUntil(t *testing.T, node *Node, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %s", node.Name(), wait, what)
		}
		if _, err := node.Recv(20 * time.Millisecond); err != nil && !isTimeout(err) {
			t.Fatal(err)
		}
	}
}

func isTimeout(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Timeout()
}

// waitReady waits until NODE sees COUNT peers alive and ready.
func waitReady(t *testing.T, node *Node, count int) {
	t.Helper()
	waitUntil(t, node, fmt.Sprintf("%d ready peers", count), func() bool {
		peers, err := node.Peers()
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, p := range peers {
			if p.State == "alive" && p.Ready {
				ready++
			}
		}
		return ready >= count
	})
}

// waitKind receives until a message of KIND arrives; nil after TIMEOUT.
func waitKind(t *testing.T, node *Node, kind Kind, timeout time.Duration) *Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		msg, err := node.Recv(left)
		if isTimeout(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if msg.Kind == kind {
			return msg
		}
		msg.Release()
	}
}

func TestPubSubTwoNodes(t *testing.T) {
	a := started(t, "go-a")
	// subscribe before b exists: "ready" (below) means the subscriptions a
	// had when b connected reached b; one made later has no such signal
	if err := a.Subscribe("go.sensors.#"); err != nil {
		t.Fatal(err)
	}
	b := started(t, "go-b")
	waitReady(t, a, 1)
	waitReady(t, b, 1)
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 || peers[0].UUID != b.UUID() || peers[0].Name != "go-b" {
		t.Fatalf("peers of a: %+v %v", peers, err)
	}
	body := []byte{0, 1, 2, 'x', 0}
	if err := b.Publish("go.sensors.t1", body, map[string]string{"unit": "C", "k": "v"}); err != nil {
		t.Fatal(err)
	}
	msg := waitKind(t, a, KindMessage, wait)
	if msg == nil {
		t.Fatal("no message")
	}
	defer msg.Release()
	if msg.Topic != "go.sensors.t1" || !bytes.Equal(msg.Body, body) || msg.Sender != b.UUID() ||
		msg.SenderName != "go-b" || msg.KindName != "message" || msg.Seq < 1 {
		t.Fatalf("unexpected message %+v", msg)
	}
	if msg.Headers["unit"] != "C" || msg.Headers["k"] != "v" || len(msg.Headers) != 2 {
		t.Fatalf("headers %v", msg.Headers)
	}
	status, err := a.Status()
	if err != nil || status["uuid"] != a.UUID() || status["cluster"] != cluster {
		t.Fatalf("status %v %v", status, err)
	}
	remote, err := a.PeerStatus(b.UUID(), wait)
	if err != nil || remote["name"] != "go-b" {
		t.Fatalf("peer status %v %v", remote, err)
	}
}

func TestErrors(t *testing.T) {
	a := started(t, "go-err", "cluster.name", cluster+"-alone")
	err := a.Publish("bad..topic", []byte("x"), nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVAL || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad topic: %v", err)
	}
	if e.Code.String() != "WEFT_EINVAL" || e.Message == "" {
		t.Fatalf("error fields %+v", e)
	}
	if err := a.Publish("ok\x00hidden", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL in topic: %v", err)
	}
	if err := a.Unsubscribe("never.subscribed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unsubscribe: %v", err)
	}
	if _, err := a.Send("q", nil, &SendOptions{ID: "a,priority=9"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("option injection: %v", err)
	}
	err = a.Consume("go.nowhere", 1) // no member has a journal
	if !errors.Is(err, ErrNotFound) || err.(*Error).Detail == "" {
		t.Fatalf("consume: %v", err)
	}
	err = a.Publish("bad..topic", nil, nil)
	if !errors.Is(err, ErrInvalid) || err.(*Error).Detail != "" {
		t.Fatalf("stale detail: %v", err)
	}
	if _, err := a.Recv(0); !errors.Is(err, ErrAgain) && err != nil {
		t.Fatalf("recv(0): %v", err)
	}
	cfg := NewConfig()
	defer cfg.Close()
	if err := cfg.Set("no.such.key", "1"); !errors.Is(err, ErrNotFound) || err.(*Error).Detail == "" {
		t.Fatalf("config: %v", err)
	}
	if v, ok := cfg.Get("node.role"); !ok || v != "member" {
		t.Fatalf("config get: %q %v", v, ok)
	}
}

func TestClosedNodeReturnsErrors(t *testing.T) {
	node := started(t, "go-closed", "cluster.name", cluster+"-alone")
	uuid := node.UUID()
	done := make(chan error, 1)
	go func() { // a receiver blocked forever is woken by Close
		for {
			if _, err := node.Recv(-1); err != nil {
				done <- err
				return
			}
		}
	}()
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked recv: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("blocked Recv not woken by Close")
	}
	if err := node.Publish("t", []byte("x"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
	if _, err := node.Recv(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv after close: %v", err)
	}
	if _, err := node.Peers(); !errors.Is(err, ErrClosed) {
		t.Fatalf("peers after close: %v", err)
	}
	if err := node.Close(); err != nil || node.UUID() != uuid {
		t.Fatalf("second close: %v", err)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var nodes []*Node
	for _, name := range []string{"go-m0", "go-m1"} {
		nodes = append(nodes, started(t, name, "journal.dir", filepath.Join(dir, name),
			"journal.sync", "async", "queues.replication", "1", "cluster.name", cluster+"-queues"))
	}
	for _, node := range nodes {
		node := node
		waitReady(t, node, 1)
		waitUntil(t, node, "a ring of 2 members", func() bool {
			status, err := node.Status()
			if err != nil {
				t.Fatal(err)
			}
			ring, _ := status["ring"].(map[string]any)
			members, _ := ring["members"].([]any)
			return len(members) == 2
		})
	}
	producer, consumer := nodes[0], nodes[1]
	id, err := producer.Send("go.jobs", []byte("job-1"), &SendOptions{Timeout: wait})
	if err != nil || id == "" {
		t.Fatalf("send: %q %v", id, err)
	}
	if err := consumer.Consume("go.jobs", 5); err != nil {
		t.Fatal(err)
	}
	msg := waitKind(t, consumer, KindDelivery, wait)
	if msg == nil {
		t.Fatal("no delivery")
	}
	if msg.Topic != "go.jobs" || string(msg.Body) != "job-1" || msg.Headers["msg_id"] != id ||
		msg.Headers["deliveries"] != "1" {
		t.Fatalf("delivery %+v", msg)
	}
	if err := consumer.Ack(msg); err != nil {
		t.Fatal(err)
	}
	if err := consumer.Ack(msg); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second ack: %v", err)
	}
	if extra := waitKind(t, consumer, KindDelivery, 300*time.Millisecond); extra != nil {
		t.Fatalf("unexpected delivery %+v", extra)
	}
	token, err := producer.SendAsync("go.jobs", []byte("job-2"), &SendOptions{ID: "async-2"})
	if err != nil {
		t.Fatal(err)
	}
	confirm := waitKind(t, producer, KindConfirm, wait)
	if confirm == nil || confirm.Seq != token || confirm.Headers["status"] != "0" ||
		confirm.Headers["msg_id"] != "async-2" {
		t.Fatalf("confirm %+v", confirm)
	}
	if err := consumer.Cancel("go.jobs"); err != nil {
		t.Fatal(err)
	}
}
