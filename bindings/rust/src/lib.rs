//! The vec0 SQLite extension, compiled into the program: vector types and
//! functions (`vec_*`) and the `vec0` virtual table with its HNSW index.
//!
//! Register it once, before opening connections, and every connection has
//! it (rusqlite, or any crate that links the same SQLite):
//!
//! ```ignore
//! unsafe { rusqlite::ffi::sqlite3_auto_extension(Some(vec0::entry_point())) };
//! ```
//!
//! The `encode_*` functions turn slices into the vector BLOBs vec0 stores
//! and the `decode_*` functions turn BLOBs back into vectors.

use std::fmt;
use std::os::raw::{c_char, c_int, c_void};

extern "C" {
    /// The extension's entry point, `sqlite3_vec_init(db, pzErrMsg, pApi)`:
    /// call it on one connection (a `*mut sqlite3`), or register it for all
    /// with `sqlite3_auto_extension(Some(vec0::entry_point()))`.
    pub fn sqlite3_vec_init(
        db: *mut c_void,
        pz_err_msg: *mut *mut c_char,
        p_api: *const c_void,
    ) -> c_int;
}

/// `sqlite3_vec_init` as the `void (*)(void)` that `sqlite3_auto_extension`
/// takes (SQLite calls it with the right arguments).
pub fn entry_point() -> unsafe extern "C" fn() {
    // SAFETY: only the type changes; SQLite calls the function with the
    // (db, pzErrMsg, pApi) arguments of an extension entry point.
    unsafe {
        std::mem::transmute::<
            unsafe extern "C" fn(*mut c_void, *mut *mut c_char, *const c_void) -> c_int,
            unsafe extern "C" fn(),
        >(sqlite3_vec_init)
    }
}

/// A vector that cannot be encoded or a BLOB that is not a vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vec0: {}", self.0)
    }
}

impl std::error::Error for Error {}

fn non_empty(n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error("a vector needs at least one element".into()));
    }
    Ok(())
}

/// The float32 vector BLOB of `v`, for `float[N]` columns and `MATCH`.
/// NaN and infinities are refused, as vec0 refuses to store or search
/// with them.
pub fn encode_f32(v: &[f32]) -> Result<Vec<u8>, Error> {
    non_empty(v.len())?;
    let mut out = Vec::with_capacity(4 * v.len());
    for (i, x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(Error(format!(
                "float32 vector element {} is {}: NaN and infinities cannot be stored or searched",
                i, x
            )));
        }
        out.extend_from_slice(&x.to_le_bytes());
    }
    Ok(out)
}

/// The int8 vector BLOB of `v`, for `int8[N]` columns and `vec_int8()`.
pub fn encode_int8(v: &[i8]) -> Result<Vec<u8>, Error> {
    non_empty(v.len())?;
    Ok(v.iter().map(|&x| x as u8).collect())
}

/// The bit vector BLOB of `bits` (a multiple of 8 of them), for `bit[N]`
/// columns and `vec_bit()`: dimension i is bit i & 7 of byte i >> 3.
pub fn encode_bits(bits: &[bool]) -> Result<Vec<u8>, Error> {
    non_empty(bits.len())?;
    if bits.len() % 8 != 0 {
        return Err(Error(format!(
            "a bit vector has a multiple of 8 dimensions, got {}",
            bits.len()
        )));
    }
    let mut out = vec![0u8; bits.len() / 8];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            out[i >> 3] |= 1 << (i & 7);
        }
    }
    Ok(out)
}

fn check_blob(blob: &[u8], size: usize, what: &str) -> Result<(), Error> {
    if blob.is_empty() || blob.len() % size != 0 {
        return Err(Error(format!(
            "a {} vector BLOB has a positive multiple of {} bytes, got {}",
            what,
            size,
            blob.len()
        )));
    }
    Ok(())
}

/// The float32 vector in a BLOB.
pub fn decode_f32(blob: &[u8]) -> Result<Vec<f32>, Error> {
    check_blob(blob, 4, "float32")?;
    Ok(blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// The int8 vector in a BLOB.
pub fn decode_int8(blob: &[u8]) -> Result<Vec<i8>, Error> {
    check_blob(blob, 1, "int8")?;
    Ok(blob.iter().map(|&x| x as i8).collect())
}

/// The bits of a bit vector BLOB, 8 per byte.
pub fn decode_bits(blob: &[u8]) -> Result<Vec<bool>, Error> {
    check_blob(blob, 1, "bit")?;
    Ok((0..8 * blob.len())
        .map(|i| (blob[i >> 3] >> (i & 7)) & 1 == 1)
        .collect())
}
