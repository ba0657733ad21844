// Package vec0 compiles the vec0 SQLite extension into a Go program and
// registers it, so every connection database/sql opens afterwards (through
// github.com/mattn/go-sqlite3 or any driver that uses the same libsqlite3)
// has the vec_* functions and the vec0 virtual table.  It also turns Go
// slices into the vector BLOBs vec0 stores, and back.
//
// The extension is compiled from vec0_amalgamation.c, which
// `make go-amalgamation` writes into this directory from the sources.  Built
// with -tags vec0_libvec0, the package links the installed libvec0.a instead
// (`make install`; found with pkg-config).  Either way it links the system
// libsqlite3, as Debian's mattn/go-sqlite3 does: the extension must register
// with the SQLite library the driver uses.
package vec0

/*
#cgo CFLAGS: -DSQLITE_CORE
#cgo LDFLAGS: -lsqlite3 -lm
#include <sqlite3.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

static int vec0_register(void) {
  return sqlite3_auto_extension((void (*)(void))sqlite3_vec_init);
}
static int vec0_unregister(void) {
  return sqlite3_cancel_auto_extension((void (*)(void))sqlite3_vec_init);
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Register makes every SQLite connection opened from now on load vec0
// (sqlite3_auto_extension).  Calling it again does nothing more.
func Register() error {
	if rc := C.vec0_register(); rc != C.SQLITE_OK {
		return fmt.Errorf("vec0: sqlite3_auto_extension failed: %s", C.GoString(C.sqlite3_errstr(rc)))
	}
	return nil
}

// Unregister undoes Register for connections opened afterwards.
func Unregister() {
	C.vec0_unregister()
}

var errEmpty = errors.New("vec0: a vector needs at least one element")

// EncodeFloat32 returns the float32 vector BLOB of v, for float[N] columns
// and MATCH.  NaN and infinities (a float64 beyond float32's range converts
// to one) are refused, as vec0 refuses to store or search with them.
func EncodeFloat32(v []float32) ([]byte, error) {
	if len(v) == 0 {
		return nil, errEmpty
	}
	out := make([]byte, 4*len(v))
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("vec0: float32 vector element %d is %v: NaN and infinities "+
				"cannot be stored or searched", i, x)
		}
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out, nil
}

// EncodeInt8 returns the int8 vector BLOB of v, for int8[N] columns and
// vec_int8().
func EncodeInt8(v []int8) ([]byte, error) {
	if len(v) == 0 {
		return nil, errEmpty
	}
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out, nil
}

// EncodeBits returns the bit vector BLOB of bits (a multiple of 8 of them),
// for bit[N] columns and vec_bit(): dimension i is bit i&7 of byte i>>3.
func EncodeBits(bits []bool) ([]byte, error) {
	if len(bits) == 0 {
		return nil, errEmpty
	}
	if len(bits)%8 != 0 {
		return nil, fmt.Errorf("vec0: a bit vector has a multiple of 8 dimensions, got %d", len(bits))
	}
	out := make([]byte, len(bits)/8)
	for i, b := range bits {
		if b {
			out[i>>3] |= 1 << (i & 7)
		}
	}
	return out, nil
}

func checkBlob(b []byte, size int, what string) error {
	if len(b) == 0 || len(b)%size != 0 {
		return fmt.Errorf("vec0: a %s vector BLOB has a positive multiple of %d bytes, got %d",
			what, size, len(b))
	}
	return nil
}

// DecodeFloat32 returns the float32 vector in a BLOB.
func DecodeFloat32(b []byte) ([]float32, error) {
	if err := checkBlob(b, 4, "float32"); err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// DecodeInt8 returns the int8 vector in a BLOB.
func DecodeInt8(b []byte) ([]int8, error) {
	if err := checkBlob(b, 1, "int8"); err != nil {
		return nil, err
	}
	out := make([]int8, len(b))
	for i, x := range b {
		out[i] = int8(x)
	}
	return out, nil
}

// DecodeBits returns the bits of a bit vector BLOB, 8 per byte.
func DecodeBits(b []byte) ([]bool, error) {
	if err := checkBlob(b, 1, "bit"); err != nil {
		return nil, err
	}
	out := make([]bool, 8*len(b))
	for i := range out {
		out[i] = b[i>>3]>>(i&7)&1 == 1
	}
	return out, nil
}
