#!/bin/sh
#   bindings/test.sh BUILD_DIR - runs the Python and Go binding tests against
#   the libweft.so in BUILD_DIR (e.g. build-bind after
#   `make -C build-bind weft`).
#
#   Python: /usr/bin/python3 (or $PYTHON) -m unittest in bindings/python, the
#   library found through WEFT_LIBRARY and LD_LIBRARY_PATH.
#   Go: go test in bindings/go/weft with GOCACHE and GOPATH in a temporary
#   directory, GOPROXY=off and GOFLAGS=-mod=mod (nothing may be downloaded:
#   the module has no dependencies), cgo pointed at include/ and BUILD_DIR.
#   A missing interpreter or toolchain prints a SKIP line and is no failure.
#   Ends with "N passed, N failed"; exits 1 if anything failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no directory $1" >&2; exit 2; }
if [ ! -e "$BUILD/libweft.so" ]; then
    echo "$0: $BUILD/libweft.so not found (make -C $1 weft)" >&2
    exit 2
fi
PYTHON=${PYTHON:-/usr/bin/python3}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/weft-bindings-XXXXXX")
trap 'chmod -R u+w "$SCRATCH" 2>/dev/null; rm -rf "$SCRATCH"' EXIT INT TERM
PASSED=0
FAILED=0

#   count FILE PASS_REGEX FAIL_REGEX STATUS: adds the matching lines of FILE
#   to the totals; a non-zero STATUS with no failing line counts as one
#   failure (a crash, a build error, a timeout).
count () {
    pass=$(grep -E -c "$2" "$1")
    fail=$(grep -E -c "$3" "$1")
    if [ "$4" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1
    fi
    PASSED=$((PASSED + pass))
    FAILED=$((FAILED + fail))
    echo "== $pass passed, $fail failed (exit status $4)"
}

echo "== Python ($PYTHON) against $BUILD/libweft.so"
if [ -x "$PYTHON" ]; then
    (cd "$HERE/python" &&
        WEFT_LIBRARY="$BUILD/libweft.so" LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            PYTHONDONTWRITEBYTECODE=1 timeout 25 "$PYTHON" -m unittest -v) >"$SCRATCH/py.log" 2>&1
    status=$?
    cat "$SCRATCH/py.log"
    count "$SCRATCH/py.log" '\.\.\. ok$' '\.\.\. (FAIL|ERROR)$' $status
else
    echo "SKIP python: $PYTHON not found"
fi

echo "== Go ($(command -v go || echo none))"
if command -v go >/dev/null 2>&1; then
    (cd "$HERE/go/weft" &&
        GOCACHE="$SCRATCH/gocache" GOPATH="$SCRATCH/gopath" GOPROXY=off GOFLAGS=-mod=mod \
            GOSUMDB=off GO111MODULE=on CGO_ENABLED=1 \
            CGO_CFLAGS="-I$REPO/include" CGO_LDFLAGS="-L$BUILD -Wl,-rpath,$BUILD" \
            LD_LIBRARY_PATH="$BUILD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            timeout 50 go test -v -count=1 -timeout 45s ./...) >"$SCRATCH/go.log" 2>&1
    status=$?
    cat "$SCRATCH/go.log"
    count "$SCRATCH/go.log" '^--- PASS' '^--- FAIL' $status
else
    echo "SKIP go: go not found"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
