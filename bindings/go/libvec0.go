//go:build vec0_libvec0

package vec0

// Built with -tags vec0_libvec0: link the libvec0.a that `make install`
// put in place, instead of compiling vec0_amalgamation.c.

// #cgo pkg-config: vec0
import "C"
