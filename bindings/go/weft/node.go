package weft

/*
#include <stdlib.h>
#include "weft.h"
*/
import "C"

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Node is one agent of the fabric. Create it with NewNode, Start it, and
// Close it when done (see the package comment: there is no finalizer).
type Node struct {
	mu   sync.RWMutex // readers: calls in progress; writer: Close freeing h
	h    *C.weft_node_t
	uuid string
	name string
}

// NewNode creates a node from CFG (copied; nil means every default).
// Nothing is bound until Start.
func NewNode(cfg *Config) (*Node, error) {
	if cfg == nil {
		cfg = NewConfig()
		defer cfg.Close()
	}
	ch, err := cfg.handle("NewNode")
	if err != nil {
		return nil, err
	}
	var rc C.int
	h := C.weft_node_new(ch, &rc)
	if h == nil {
		return nil, newError(rc, "NewNode", "")
	}
	return &Node{h: h, uuid: C.GoString(C.weft_node_uuid(h)),
		name: C.GoString(C.weft_node_name(h))}, nil
}

// acquire returns the handle, held until release, or ErrClosed.
func (n *Node) acquire(op string) (*C.weft_node_t, error) {
	n.mu.RLock()
	if n.h == nil {
		n.mu.RUnlock()
		return nil, &Error{Code: ECLOSED, Message: ECLOSED.Text(), Op: op, Detail: "node is closed"}
	}
	return n.h, nil
}

func (n *Node) release() { n.mu.RUnlock() }

// detailed lists the calls that set weft_node_error () when they fail
// (libweft 0.1). The detail is never cleared, so after another failure it may
// be stale: it is attached only for these calls, or when it changed during
// the call.
var detailed = map[string]bool{"Start": true, "Consume": true}

// detail returns the node's explanation of its last failure.
func detail(h *C.weft_node_t) string { return C.GoString(C.weft_node_error(h)) }

// call runs FN with the handle and turns a negative result into an *Error.
func (n *Node) call(op string, fn func(h *C.weft_node_t) C.int) (int, error) {
	h, err := n.acquire(op)
	if err != nil {
		return 0, err
	}
	defer n.release()
	before := detail(h)
	rc := fn(h)
	if rc < 0 {
		after := detail(h)
		if !detailed[op] && after == before {
			after = ""
		}
		return 0, newError(rc, op, after)
	}
	return int(rc), nil
}

// callStrings converts ARGS to C strings (refusing NULs), runs FN, frees them.
func (n *Node) callStrings(op string, args []string, fn func(h *C.weft_node_t, cs []*C.char) C.int) (int, error) {
	var cs cstrings
	defer cs.freeAll()
	for _, arg := range args {
		if _, err := cs.add(op, "argument", arg); err != nil {
			return 0, err
		}
	}
	return n.call(op, func(h *C.weft_node_t) C.int { return fn(h, cs) })
}

// Start binds the sockets, opens the journal and starts discovery.
func (n *Node) Start() error {
	_, err := n.call("Start", func(h *C.weft_node_t) C.int { return C.weft_node_start(h) })
	return err
}

// Stop leaves the fabric; Recv then drains and returns ErrClosed. Idempotent,
// also after Close.
func (n *Node) Stop() error {
	h, err := n.acquire("Stop")
	if err != nil {
		return nil
	}
	defer n.release()
	C.weft_node_stop(h)
	return nil
}

// Close stops the node if needed, waits for calls in progress and frees it.
// Later calls return ErrClosed. Idempotent.
func (n *Node) Close() error {
	if err := n.Stop(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	C.weft_node_destroy(&n.h)
	return nil
}

// UUID returns the node's UUID (32 hex digits); it stays readable after Close.
func (n *Node) UUID() string { return n.uuid }

// Name returns the node's name.
func (n *Node) Name() string { return n.name }

// FD returns a descriptor that becomes readable when Recv may have something:
// then call Recv(0) until it returns an error with Timeout() true. Do not
// read or close it.
func (n *Node) FD() (int, error) {
	return n.call("FD", func(h *C.weft_node_t) C.int { return C.weft_node_fd(h) })
}

// Publish sends BODY on TOPIC with optional HEADERS.
func (n *Node) Publish(topic string, body []byte, headers map[string]string) error {
	args := []string{topic}
	for k, v := range headers {
		args = append(args, k, v)
	}
	_, err := n.callStrings("Publish", args, func(h *C.weft_node_t, cs []*C.char) C.int {
		data, size := bytesArg(body)
		if len(headers) == 0 {
			return C.weft_publish(h, cs[0], data, size)
		}
		pairs := cs[1:] // C pointers in Go memory: allowed by the cgo rules
		return C.weft_publishv(h, cs[0], &pairs[0], C.size_t(len(headers)), data, size)
	})
	return err
}

// Subscribe subscribes to PATTERN ('*' one segment, trailing '#' any).
func (n *Node) Subscribe(pattern string) error {
	_, err := n.callStrings("Subscribe", []string{pattern}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_subscribe(h, cs[0])
	})
	return err
}

// Unsubscribe undoes one Subscribe of PATTERN (ENOTFOUND if none).
func (n *Node) Unsubscribe(pattern string) error {
	_, err := n.callStrings("Unsubscribe", []string{pattern}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_unsubscribe(h, cs[0])
	})
	return err
}

// DeclareDurable journals topics matching PATTERN published by this node;
// RETENTION is "" (keep all) or "max_age_ms=N,max_bytes=N,max_count=N".
func (n *Node) DeclareDurable(pattern, retention string) error {
	_, err := n.callStrings("DeclareDurable", []string{pattern, retention},
		func(h *C.weft_node_t, cs []*C.char) C.int { return C.weft_declare_durable(h, cs[0], cs[1]) })
	return err
}

// SubscribeFrom subscribes to PATTERN from START: "latest", "earliest",
// "seq:N" or "time:T".
func (n *Node) SubscribeFrom(pattern, start string) error {
	_, err := n.callStrings("SubscribeFrom", []string{pattern, start},
		func(h *C.weft_node_t, cs []*C.char) C.int { return C.weft_subscribe_from(h, cs[0], cs[1]) })
	return err
}

// SubscribeDurable is a named subscription resuming after its last ack.
func (n *Node) SubscribeDurable(pattern, name, start string, autoAck bool) error {
	auto := C.int(0)
	if autoAck {
		auto = 1
	}
	_, err := n.callStrings("SubscribeDurable", []string{pattern, name, start},
		func(h *C.weft_node_t, cs []*C.char) C.int {
			return C.weft_subscribe_durable(h, cs[0], cs[1], cs[2], auto)
		})
	return err
}

// millis converts a duration to C milliseconds, rounded up; NEGATIVE is used
// for d < 0.
func millis(d time.Duration, negative int) C.int {
	if d < 0 {
		return C.int(negative)
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return C.int(ms)
}

// Recv returns the next message or event, waiting up to TIMEOUT (0: do not
// wait; negative: forever). Nothing within the timeout gives an *Error with
// Timeout() true (EAGAIN for 0, ETIMEDOUT otherwise); a stopped node, once
// drained, gives ErrClosed.
func (n *Node) Recv(timeout time.Duration) (*Message, error) {
	var msg *C.weft_msg_t
	_, err := n.call("Recv", func(h *C.weft_node_t) C.int {
		return C.weft_recv(h, &msg, millis(timeout, -1))
	})
	if err != nil {
		return nil, err
	}
	return newMessage(msg), nil
}

// settle runs a settle call on M; a settled delivery's native copy is freed.
func (n *Node) settle(op string, m *Message, fn func(*C.weft_node_t, *C.weft_msg_t) C.int) error {
	h, err := n.acquire(op)
	if err != nil {
		return err
	}
	defer n.release()
	rc, err := m.settle(op, func(mh *C.weft_msg_t) C.int { return fn(h, mh) })
	if err != nil {
		return err
	}
	if rc < 0 {
		return newError(rc, op, "") // settle calls set no node detail
	}
	if m.Kind == KindDelivery {
		m.Release()
	}
	return nil
}

// Ack acknowledges M: the owner removes a delivery; a topic message advances
// the durable subscriptions covering its topic.
func (n *Node) Ack(m *Message) error {
	return n.settle("Ack", m, func(h *C.weft_node_t, mh *C.weft_msg_t) C.int { return C.weft_ack(h, mh) })
}

// Nack has the delivery M delivered again after DELAY.
func (n *Node) Nack(m *Message, delay time.Duration) error {
	return n.settle("Nack", m, func(h *C.weft_node_t, mh *C.weft_msg_t) C.int {
		return C.weft_nack(h, mh, millis(delay, 0))
	})
}

// Reject moves the delivery M to the dead-letter queue "<queue>.dlq".
func (n *Node) Reject(m *Message) error {
	return n.settle("Reject", m, func(h *C.weft_node_t, mh *C.weft_msg_t) C.int { return C.weft_reject(h, mh) })
}

// SendOptions are the options of a queue send; the zero value is the default.
type SendOptions struct {
	ID          string        // message id ([A-Za-z0-9_.:-], ≤128); "": one is generated
	Priority    int           // 0..9
	Replication int           // 1..9 copies; 0: queues.replication
	Acks        string        // "all" or "owner"; "": queues.acks
	Timeout     time.Duration // Send only; 0: queues.send_timeout_ms
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// options validates O and renders the options string (a ',' or '=' in a
// value would otherwise inject another option).
func (o *SendOptions) options(op string) (string, error) {
	bad := func(why string) error {
		return &Error{Code: EINVAL, Message: EINVAL.Text(), Op: op, Detail: why}
	}
	var parts []string
	if o.ID != "" {
		if !idPattern.MatchString(o.ID) {
			return "", bad("ID must be 1..128 of [A-Za-z0-9_.:-]")
		}
		parts = append(parts, "id="+o.ID)
	}
	if o.Priority < 0 || o.Priority > 9 {
		return "", bad("Priority must be 0..9")
	}
	parts = append(parts, "priority="+strconv.Itoa(o.Priority))
	if o.Replication < 0 || o.Replication > 9 {
		return "", bad("Replication must be 0..9")
	} else if o.Replication > 0 {
		parts = append(parts, "replication="+strconv.Itoa(o.Replication))
	}
	if o.Acks != "" && o.Acks != "all" && o.Acks != "owner" {
		return "", bad("Acks must be all or owner")
	} else if o.Acks != "" {
		parts = append(parts, "acks="+o.Acks)
	}
	return strings.Join(parts, ","), nil
}

// Send sends BODY to QUEUE and waits until its owner confirms; it returns
// the message id: opts.ID, or one generated here, so that after ETIMEDOUT
// (the message may still be enqueued later) the caller can send again with
// the same ID and have it enqueued once. Errors: ETIMEDOUT, EAGAIN, ESTATE,
// ENOSPC, EINVAL, EMSGSIZE.
func (n *Node) Send(queue string, body []byte, opts *SendOptions) (string, error) {
	o := SendOptions{}
	if opts != nil {
		o = *opts
	}
	if o.ID == "" {
		o.ID = newID()
	}
	options, err := o.options("Send")
	if err != nil {
		return o.ID, err
	}
	timeout := C.int(-1)
	if o.Timeout > 0 {
		timeout = millis(o.Timeout, -1)
	}
	_, err = n.callStrings("Send", []string{queue, options}, func(h *C.weft_node_t, cs []*C.char) C.int {
		data, size := bytesArg(body)
		return C.weft_send(h, cs[0], data, size, cs[1], timeout)
	})
	return o.ID, err
}

// newID returns a random message id (32 hex digits).
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // the system's random source failed
	}
	return hex.EncodeToString(b[:])
}

// SendAsync sends without waiting and returns a token; the outcome arrives
// as a KindConfirm message whose Seq is the token (Headers: status,
// duplicate, msg_id). EAGAIN when queues.window sends are unconfirmed.
func (n *Node) SendAsync(queue string, body []byte, opts *SendOptions) (uint64, error) {
	if opts == nil {
		opts = &SendOptions{}
	}
	options, err := opts.options("SendAsync")
	if err != nil {
		return 0, err
	}
	var token C.uint64_t
	_, err = n.callStrings("SendAsync", []string{queue, options}, func(h *C.weft_node_t, cs []*C.char) C.int {
		data, size := bytesArg(body)
		return C.weft_send_async(h, cs[0], data, size, cs[1], &token)
	})
	return uint64(token), err
}

// Consume starts a consumer of QUEUE with at most PREFETCH unsettled
// deliveries, which Recv returns as KindDelivery messages.
func (n *Node) Consume(queue string, prefetch int) error {
	_, err := n.callStrings("Consume", []string{queue}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_consume(h, cs[0], C.int(prefetch))
	})
	return err
}

// Cancel stops every consumer of QUEUE on this node.
func (n *Node) Cancel(queue string) error {
	_, err := n.callStrings("Cancel", []string{queue}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_cancel(h, cs[0])
	})
	return err
}

// Redrive moves the dead letters of QUEUE back to it and returns how many
// (TIMEOUT 0: the library's default).
func (n *Node) Redrive(queue string, timeout time.Duration) (int, error) {
	return n.callStrings("Redrive", []string{queue}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_redrive(h, cs[0], millis(timeout, 0))
	})
}

// Peer is one row of the peer table.
type Peer struct {
	UUID, Name, Role, Endpoint, PubEndpoint, State, Source string
	Ready                                                  bool  // its subscriptions reached us
	LastSeenMs                                             int64 // ms since last heard
}

// Peers returns a snapshot of the peer table.
func (n *Node) Peers() ([]Peer, error) {
	var snap *C.weft_peers_t
	if _, err := n.call("Peers", func(h *C.weft_node_t) C.int { return C.weft_peers(h, &snap) }); err != nil {
		return nil, err
	}
	defer C.weft_peers_destroy(&snap)
	get := func(i C.size_t, field string) string {
		cf := C.CString(field)
		defer C.free(unsafe.Pointer(cf))
		return C.GoString(C.weft_peers_get(snap, i, cf))
	}
	count := C.weft_peers_count(snap)
	peers := make([]Peer, 0, int(count))
	for i := C.size_t(0); i < count; i++ {
		seen, _ := strconv.ParseInt(get(i, "last_seen_ms"), 10, 64)
		peers = append(peers, Peer{UUID: get(i, "uuid"), Name: get(i, "name"), Role: get(i, "role"),
			Endpoint: get(i, "endpoint"), PubEndpoint: get(i, "pub_endpoint"),
			State: get(i, "state"), Source: get(i, "source"), Ready: get(i, "ready") == "yes",
			LastSeenMs: seen})
	}
	return peers, nil
}

// StatusJSON returns the node's status as the library's JSON text.
func (n *Node) StatusJSON() (string, error) {
	var out *C.char
	_, err := n.call("Status", func(h *C.weft_node_t) C.int { return C.weft_status(h, &out) })
	return takeString(out), err
}

// Status returns the node's status, counters and journal streams, decoded.
func (n *Node) Status() (map[string]any, error) {
	text, err := n.StatusJSON()
	if err != nil {
		return nil, err
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(text), &status); err != nil {
		return nil, &Error{Code: EPROTO, Message: EPROTO.Text(), Op: "Status", Detail: err.Error()}
	}
	return status, nil
}

// PeerStatus asks peer UUID for its status over the network.
func (n *Node) PeerStatus(uuid string, timeout time.Duration) (map[string]any, error) {
	var out *C.char
	_, err := n.callStrings("PeerStatus", []string{uuid}, func(h *C.weft_node_t, cs []*C.char) C.int {
		return C.weft_peer_status(h, cs[0], millis(timeout, 5000), &out)
	})
	text := takeString(out)
	if err != nil {
		return nil, err
	}
	var status map[string]any
	if err := json.Unmarshal([]byte(text), &status); err != nil {
		return nil, &Error{Code: EPROTO, Message: EPROTO.Text(), Op: "PeerStatus", Detail: err.Error()}
	}
	return status, nil
}
