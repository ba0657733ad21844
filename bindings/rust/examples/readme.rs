use rusqlite::{ffi, Connection};

fn main() -> rusqlite::Result<()> {
    // every connection opened from here on has vec0
    unsafe { ffi::sqlite3_auto_extension(Some(vec0::entry_point())) };
    let db = Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT);
         CREATE VIRTUAL TABLE vecs USING vec0(embedding float[3], lang text);
         INSERT INTO docs VALUES (1, 'cats'), (2, 'chats'), (3, 'stocks');
         INSERT INTO vecs(rowid, embedding, lang) VALUES
           (1, '[1, 0, 0]', 'en'), (2, '[0.9, 0.1, 0]', 'fr'), (3, '[0, 0, 1]', 'en');",
    )?;
    let query = vec0::encode_f32(&[1.0, 0.2, 0.0]).unwrap();
    let mut stmt = db.prepare(
        "SELECT title, distance FROM vecs JOIN docs ON id = vecs.rowid
          WHERE embedding MATCH ? AND k = 2 AND lang = 'en' ORDER BY distance",
    )?;
    let mut rows = stmt.query([query])?;
    while let Some(row) = rows.next()? {
        println!("{} {:.3}", row.get::<_, String>(0)?, row.get::<_, f64>(1)?);
    }
    Ok(())
}
