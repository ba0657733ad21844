// Compiles the vec0 amalgamation (one C file) into a static library that
// the crate links.  The file comes from, in order: $VEC0_AMALGAMATION;
// amalgamation/vec0.c in the crate (a packaged crate ships it); or, inside
// the vec0 repository, `make amalgamation` run into OUT_DIR.
//
// The C code calls SQLite directly (SQLITE_CORE): the program links SQLite
// once, through rusqlite / libsqlite3-sys or otherwise, and vec0 uses that.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=VEC0_AMALGAMATION");
    let source = if let Ok(path) = env::var("VEC0_AMALGAMATION") {
        println!("cargo:rerun-if-changed={}", path);
        PathBuf::from(path)
    } else if manifest.join("amalgamation/vec0.c").exists() {
        println!("cargo:rerun-if-changed=amalgamation/vec0.c");
        manifest.join("amalgamation/vec0.c")
    } else {
        from_repository(&manifest, &out)
    };
    cc::Build::new()
        .file(&source)
        .define("SQLITE_CORE", None)
        .opt_level(2)
        .warnings(false)
        .compile("vec0");
}

fn from_repository(manifest: &Path, out: &Path) -> PathBuf {
    let root = manifest.join("../..");
    if !root.join("tools/amalgamate.py").exists() {
        panic!(
            "vec0: no amalgamation: set VEC0_AMALGAMATION to a vec0.c made by \
             `make amalgamation`, or put one in {}",
            manifest.join("amalgamation/vec0.c").display()
        );
    }
    for dir in ["src", "ext", "tools"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let status = Command::new(env::var("MAKE").unwrap_or_else(|_| "make".into()))
        .arg("-s")
        .arg("-C")
        .arg(&root)
        .arg("amalgamation")
        .arg(format!("AMALG_DIR={}", out.display()))
        .status()
        .expect("vec0: cannot run make to write the amalgamation");
    assert!(status.success(), "vec0: `make amalgamation` failed");
    out.join("vec0.c")
}
