// Package weft is the Go binding of Weft, a brokerless messaging fabric, over
// the C library libweft (cgo).
//
//	cfg := weft.NewConfig()
//	defer cfg.Close()
//	cfg.Set("discovery.interface", "lo")
//	node, err := weft.NewNode(cfg)
//	...
//	defer node.Close()
//	err = node.Start()
//	err = node.Subscribe("sensors.#")
//	msg, err := node.Recv(time.Second) // an *Error with Timeout() true if nothing came
//
// Building: the header comes from the repository (include/weft.h, found
// relative to this file); the library is linked with -lweft, so the linker
// must find libweft.so: give its directory with
// CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD" (see bindings/test.sh), or install
// the library where the system linker looks.
//
// Resources: Node and Config must be closed with Close. The binding sets no
// finalizer on a Node on purpose: a node nobody references from Go may still
// be doing useful work inside the library (a member storing queue replicas),
// and stopping it at some garbage collection would be a surprise; an unclosed
// Node keeps its sockets, threads and journal lock until the process exits.
// Configs and Messages hold only memory and have finalizers as a safety net,
// but Close/Release free it at once.
//
// Threads: a Node may be used from any goroutine; Close waits for calls in
// progress (Stop wakes a blocked Recv; a Send waits up to its timeout). A
// Config belongs to one goroutine at a time.
package weft

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -lweft
#include <stdlib.h>
#include "weft.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Code is a Weft error code (WEFT_E*, negative).
type Code int

// The error codes of weft.h.
const (
	OK         Code = C.WEFT_OK
	EINVAL     Code = C.WEFT_EINVAL
	ENOMEM     Code = C.WEFT_ENOMEM
	ECLOSED    Code = C.WEFT_ECLOSED
	ETIMEDOUT  Code = C.WEFT_ETIMEDOUT
	EAGAIN     Code = C.WEFT_EAGAIN
	EMSGSIZE   Code = C.WEFT_EMSGSIZE
	EPROTO     Code = C.WEFT_EPROTO
	EADDRINUSE Code = C.WEFT_EADDRINUSE
	ENOTFOUND  Code = C.WEFT_ENOTFOUND
	EIO        Code = C.WEFT_EIO
	ESTATE     Code = C.WEFT_ESTATE
	ENOSPC     Code = C.WEFT_ENOSPC
	ECORRUPT   Code = C.WEFT_ECORRUPT
	ELOCKED    Code = C.WEFT_ELOCKED
	ENODEV     Code = C.WEFT_ENODEV
	EINTERNAL  Code = C.WEFT_EINTERNAL
	EFULL      Code = C.WEFT_EFULL
)

// String returns the symbolic name, e.g. "WEFT_EINVAL".
func (c Code) String() string { return C.GoString(C.weft_errname(C.int(c))) }

// Text returns the library's description (weft_strerror).
func (c Code) Text() string { return C.GoString(C.weft_strerror(C.int(c))) }

// Error is a failed Weft call: its code, the library's text for it, and a
// detail (weft_node_error, weft_config_error or the binding's) when there is one.
type Error struct {
	Code    Code
	Message string // weft_strerror (Code)
	Detail  string // why, when known; may be empty
	Op      string // the call that failed
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		text = e.Code.Text()
	}
	if e.Op != "" {
		text = "weft: " + e.Op + ": " + text
	} else {
		text = "weft: " + text
	}
	if e.Detail != "" {
		text += " (" + e.Detail + ")"
	}
	return text + " [" + e.Code.String() + "]"
}

// Is makes errors.Is (err, weft.ErrClosed) compare codes.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Timeout is true for ETIMEDOUT and EAGAIN (as net.Error's Timeout).
func (e *Error) Timeout() bool { return e.Code == ETIMEDOUT || e.Code == EAGAIN }

// Sentinels for errors.Is; they compare by code only.
var (
	ErrInvalid  = &Error{Code: EINVAL}
	ErrClosed   = &Error{Code: ECLOSED}
	ErrTimedOut = &Error{Code: ETIMEDOUT}
	ErrAgain    = &Error{Code: EAGAIN}
	ErrMsgSize  = &Error{Code: EMSGSIZE}
	ErrNotFound = &Error{Code: ENOTFOUND}
	ErrState    = &Error{Code: ESTATE}
)

// newError builds the Error for code RC (negative).
func newError(rc C.int, op, detail string) *Error {
	code := Code(rc)
	return &Error{Code: code, Message: code.Text(), Detail: detail, Op: op}
}

// check returns nil for RC >= 0 and an *Error otherwise.
func check(rc C.int, op, detail string) error {
	if rc >= 0 {
		return nil
	}
	return newError(rc, op, detail)
}

// Version returns the library's version (major, minor, patch).
func Version() (major, minor, patch int) {
	var a, b, c C.int
	C.weft_version(&a, &b, &c)
	return int(a), int(b), int(c)
}

// cstrings converts Go strings to C strings, refusing an embedded NUL (C
// would silently stop at it). Free the result with freeAll.
type cstrings []*C.char

func (cs *cstrings) add(op, what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, &Error{Code: EINVAL, Message: EINVAL.Text(), Op: op,
			Detail: what + " contains a NUL byte"}
	}
	p := C.CString(s)
	*cs = append(*cs, p)
	return p, nil
}

func (cs cstrings) freeAll() {
	for _, p := range cs {
		C.free(unsafe.Pointer(p))
	}
}

// bytesArg returns a pointer to BODY's first byte and its length (nil for empty).
func bytesArg(body []byte) (unsafe.Pointer, C.size_t) {
	if len(body) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&body[0]), C.size_t(len(body))
}

// takeString copies a library-allocated string and frees it with weft_free.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.weft_free(unsafe.Pointer(p))
	return C.GoString(p)
}

// JournalRepair salvages the journal in DIR (no process may have it open).
func JournalRepair(dir string) error {
	var cs cstrings
	defer cs.freeAll()
	cdir, err := cs.add("JournalRepair", "dir", dir)
	if err != nil {
		return err
	}
	var msg *C.char
	rc := C.weft_journal_repair(cdir, &msg)
	return check(rc, "JournalRepair", takeString(msg))
}

// Config is a set of string keys (docs/CONFIG.md) validated when set.
type Config struct {
	h *C.weft_config_t
}

// NewConfig returns a config holding every default. It panics only when out of memory.
func NewConfig() *Config {
	c := &Config{h: C.weft_config_new()}
	if c.h == nil {
		panic(newError(C.WEFT_ENOMEM, "NewConfig", ""))
	}
	runtime.SetFinalizer(c, (*Config).Close)
	return c
}

func (c *Config) handle(op string) (*C.weft_config_t, error) {
	if c == nil || c.h == nil {
		return nil, &Error{Code: ECLOSED, Message: ECLOSED.Text(), Op: op, Detail: "config is closed"}
	}
	return c.h, nil
}

// Set sets KEY to VALUE. Unknown keys give ENOTFOUND, bad values EINVAL,
// with the library's reason in Detail.
func (c *Config) Set(key, value string) error {
	h, err := c.handle("config set")
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.freeAll()
	ckey, err := cs.add("config set", "key", key)
	if err != nil {
		return err
	}
	cvalue, err := cs.add("config set", "value", value)
	if err != nil {
		return err
	}
	rc := C.weft_config_set(h, ckey, cvalue)
	return check(rc, "config "+key, C.GoString(C.weft_config_error(h)))
}

// Get returns the value of KEY; ok is false for an unknown key.
func (c *Config) Get(key string) (value string, ok bool) {
	h, err := c.handle("config get")
	if err != nil || strings.IndexByte(key, 0) >= 0 {
		return "", false
	}
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	p := C.weft_config_get(h, ckey)
	if p == nil {
		return "", false
	}
	return C.GoString(p), true
}

// Load reads a ZPL config file; errors name the file, key and reason in Detail.
func (c *Config) Load(path string) error {
	h, err := c.handle("config load")
	if err != nil {
		return err
	}
	var cs cstrings
	defer cs.freeAll()
	cpath, err := cs.add("config load", "path", path)
	if err != nil {
		return err
	}
	rc := C.weft_config_load(h, cpath)
	return check(rc, "config load", C.GoString(C.weft_config_error(h)))
}

// Keys returns every known key.
func (c *Config) Keys() []string {
	h, err := c.handle("config keys")
	if err != nil {
		return nil
	}
	count := int(C.weft_config_key(h, -1, nil, nil, nil))
	keys := make([]string, 0, count)
	for i := 0; i < count; i++ {
		var key *C.char
		C.weft_config_key(h, C.int(i), &key, nil, nil)
		keys = append(keys, C.GoString(key))
	}
	return keys
}

// Close frees the config (a Node keeps its own copy). Idempotent.
func (c *Config) Close() {
	if c != nil && c.h != nil {
		C.weft_config_destroy(&c.h)
		runtime.SetFinalizer(c, nil)
	}
}

// String describes the config for debugging.
func (c *Config) String() string {
	if c == nil || c.h == nil {
		return "weft.Config(closed)"
	}
	return fmt.Sprintf("weft.Config(%d keys)", len(c.Keys()))
}
