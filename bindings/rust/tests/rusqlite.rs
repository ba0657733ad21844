// The crate with rusqlite: vec0 registered for every connection, a filtered
// KNN query joined with an ordinary table against the exact answer, errors
// with vec0's message, and the encoders against vec0's own SQL functions.

use rusqlite::{ffi, params, Connection};

fn open() -> Connection {
    // Registering twice is harmless: SQLite keeps one entry per function.
    let rc = unsafe { ffi::sqlite3_auto_extension(Some(vec0::entry_point())) };
    assert_eq!(rc, ffi::SQLITE_OK);
    Connection::open_in_memory().unwrap()
}

/// A small seeded generator, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / ((1u64 << 24) as f32) - 0.5
    }
}

#[test]
fn registered_on_every_connection() {
    let db = open();
    let v: String = db.query_row("SELECT vec_version()", [], |r| r.get(0)).unwrap();
    assert_eq!(v, format!("v{}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn filtered_knn_join_equals_exact() {
    let db = open();
    let mut rng = Rng(3);
    db.execute_batch(
        "CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT);
         CREATE VIRTUAL TABLE vecs USING vec0(id integer primary key,
           embedding float[8] indexed by flat(), lang text);",
    )
    .unwrap();
    let mut data = Vec::new();
    for id in 1..=300i64 {
        let v: Vec<f32> = (0..8).map(|_| rng.next()).collect();
        let lang = if id % 3 == 0 { "fr" } else { "en" };
        db.execute("INSERT INTO docs VALUES (?, ?)", params![id, format!("doc {}", id)])
            .unwrap();
        db.execute(
            "INSERT INTO vecs(id, embedding, lang) VALUES (?, ?, ?)",
            params![id, vec0::encode_f32(&v).unwrap(), lang],
        )
        .unwrap();
        data.push((id, v, lang));
    }
    let q: Vec<f32> = (0..8).map(|_| rng.next()).collect();
    let mut stmt = db
        .prepare(
            "SELECT docs.id, docs.title, vecs.distance FROM vecs JOIN docs ON docs.id = vecs.id
              WHERE vecs.embedding MATCH ? AND k = ? AND vecs.lang = 'en' ORDER BY vecs.distance",
        )
        .unwrap();
    let got: Vec<(i64, String, f64)> = stmt
        .query_map(params![vec0::encode_f32(&q).unwrap(), 10], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let mut exact: Vec<(f64, i64)> = data
        .iter()
        .filter(|(_, _, lang)| *lang == "en")
        .map(|(id, v, _)| {
            let d: f64 = v.iter().zip(&q).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
            (d.sqrt(), *id)
        })
        .collect();
    exact.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got.len(), 10);
    for (row, (d, id)) in got.iter().zip(&exact) {
        assert_eq!(row.0, *id);
        assert_eq!(row.1, format!("doc {}", id));
        assert!((row.2 - d).abs() <= 1e-5, "{} against {}", row.2, d);
    }
}

#[test]
fn errors_carry_vec0_messages() {
    let db = open();
    db.execute_batch("CREATE VIRTUAL TABLE t USING vec0(embedding float[4])")
        .unwrap();
    let err = db
        .execute(
            "INSERT INTO t(rowid, embedding) VALUES (1, ?)",
            [vec0::encode_f32(&[1.0, 2.0, 3.0]).unwrap()],
        )
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("vec0: ") && err.contains("embedding"), "{}", err);
}

#[test]
fn encoders_match_sql() {
    let db = open();
    let b = vec0::encode_f32(&[0.5, -1.0, 2.0]).unwrap();
    let same: bool = db
        .query_row("SELECT vec_f32('[0.5, -1, 2]') = ?", [&b], |r| r.get(0))
        .unwrap();
    assert!(same);
    assert_eq!(vec0::decode_f32(&b).unwrap(), vec![0.5, -1.0, 2.0]);
    let i8b = vec0::encode_int8(&[1, -128, 127]).unwrap();
    let json: String = db
        .query_row("SELECT vec_to_json(vec_int8(?))", [&i8b], |r| r.get(0))
        .unwrap();
    assert_eq!(json, "[1,-128,127]");
    assert_eq!(vec0::decode_int8(&i8b).unwrap(), vec![1, -128, 127]);
    let bits = [true, false, true, true, false, false, false, false];
    let bb = vec0::encode_bits(&bits).unwrap();
    let quant: bool = db
        .query_row("SELECT vec_quantize_binary('[1,-1,1,1,-1,-1,-1,-1]') = ?", [&bb], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(quant);
    assert_eq!(vec0::decode_bits(&bb).unwrap(), bits.to_vec());

    let errors = [
        (vec0::encode_f32(&[]).unwrap_err(), "at least one element"),
        (vec0::encode_f32(&[1.0, f32::NAN]).unwrap_err(), "element 1 is NaN"),
        (vec0::encode_f32(&[f32::INFINITY]).unwrap_err(), "element 0 is inf"),
        (vec0::encode_bits(&[true; 3]).unwrap_err(), "multiple of 8 dimensions, got 3"),
        (vec0::decode_f32(&[1, 2, 3]).unwrap_err(), "multiple of 4 bytes, got 3"),
    ];
    for (e, want) in errors.iter() {
        let s = e.to_string();
        assert!(s.starts_with("vec0: ") && s.contains(want), "{}", s);
    }
}
