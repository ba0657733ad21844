package vec0_test

import (
	"database/sql"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"vec0"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	if err := vec0.Register(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one :memory: database
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...interface{}) sql.Result {
	t.Helper()
	r, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return r
}

func TestRegisteredOnEveryConnection(t *testing.T) {
	db := open(t)
	var v string
	if err := db.QueryRow("SELECT vec_version()").Scan(&v); err != nil || !strings.HasPrefix(v, "v") {
		t.Fatalf("vec_version() = %q, %v", v, err)
	}
}

func TestFilteredKNNJoinEqualsExact(t *testing.T) {
	db := open(t)
	rng := rand.New(rand.NewSource(5))
	const dim, n = 8, 300
	mustExec(t, db, `CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT)`)
	mustExec(t, db, `CREATE VIRTUAL TABLE vecs USING vec0(id integer primary key,
		embedding float[8] indexed by flat(), lang text)`)
	data := make([][]float32, n+1)
	for id := 1; id <= n; id++ {
		v := make([]float32, dim)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		data[id] = v
		blob, err := vec0.EncodeFloat32(v)
		if err != nil {
			t.Fatal(err)
		}
		lang := "en"
		if id%3 == 0 {
			lang = "fr"
		}
		mustExec(t, db, "INSERT INTO docs VALUES (?, ?)", id, "doc")
		mustExec(t, db, "INSERT INTO vecs(id, embedding, lang) VALUES (?, ?, ?)", id, blob, lang)
	}
	q := make([]float32, dim)
	for i := range q {
		q[i] = rng.Float32() - 0.5
	}
	qb, _ := vec0.EncodeFloat32(q)
	rows, err := db.Query(`SELECT docs.id, vecs.distance FROM vecs JOIN docs ON docs.id = vecs.id
		WHERE vecs.embedding MATCH ? AND k = ? AND vecs.lang = 'en' ORDER BY vecs.distance`, qb, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	var dists []float64
	for rows.Next() {
		var id int
		var d float64
		if err := rows.Scan(&id, &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
		dists = append(dists, d)
	}
	type scored struct {
		id int
		d  float64
	}
	var exact []scored
	for id := 1; id <= n; id++ {
		if id%3 == 0 {
			continue
		}
		s := 0.0
		for i := range q {
			x := float64(data[id][i]) - float64(q[i])
			s += x * x
		}
		exact = append(exact, scored{id, math.Sqrt(s)})
	}
	sort.Slice(exact, func(i, j int) bool { return exact[i].d < exact[j].d })
	if len(got) != 10 {
		t.Fatalf("got %d rows, want 10", len(got))
	}
	for i := range got {
		if got[i] != exact[i].id || math.Abs(dists[i]-exact[i].d) > 1e-5 {
			t.Fatalf("row %d: got %d (%g), want %d (%g)", i, got[i], dists[i], exact[i].id, exact[i].d)
		}
	}
}

func TestErrorsCarryVec0Messages(t *testing.T) {
	db := open(t)
	mustExec(t, db, "CREATE VIRTUAL TABLE t USING vec0(embedding float[4])")
	blob, _ := vec0.EncodeFloat32([]float32{1, 2, 3})
	_, err := db.Exec("INSERT INTO t(rowid, embedding) VALUES (1, ?)", blob)
	if err == nil || !strings.HasPrefix(err.Error(), "vec0: ") || !strings.Contains(err.Error(), "embedding") {
		t.Fatalf("a 3-dimensional vector in a float[4] column: %v", err)
	}
}

func TestEncodings(t *testing.T) {
	db := open(t)
	b, err := vec0.EncodeFloat32([]float32{0.5, -1, 2})
	if err != nil {
		t.Fatal(err)
	}
	var same int
	if err := db.QueryRow("SELECT vec_f32('[0.5, -1, 2]') = ?", b).Scan(&same); err != nil || same != 1 {
		t.Fatalf("EncodeFloat32 differs from vec_f32(): %v", err)
	}
	if v, err := vec0.DecodeFloat32(b); err != nil || len(v) != 3 || v[0] != 0.5 || v[1] != -1 || v[2] != 2 {
		t.Fatalf("DecodeFloat32: %v %v", v, err)
	}
	i8, _ := vec0.EncodeInt8([]int8{1, -128, 127})
	var js string
	if err := db.QueryRow("SELECT vec_to_json(vec_int8(?))", i8).Scan(&js); err != nil || js != "[1,-128,127]" {
		t.Fatalf("EncodeInt8: %q %v", js, err)
	}
	if v, _ := vec0.DecodeInt8(i8); v[1] != -128 {
		t.Fatalf("DecodeInt8: %v", v)
	}
	bits := []bool{true, false, true, true, false, false, false, false,
		false, false, false, false, false, false, false, true}
	bb, _ := vec0.EncodeBits(bits)
	var quant int
	if err := db.QueryRow("SELECT vec_quantize_binary('[1,-1,1,1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,1]') = ?",
		bb).Scan(&quant); err != nil || quant != 1 {
		t.Fatalf("EncodeBits differs from vec_quantize_binary(): %v", err)
	}
	if back, _ := vec0.DecodeBits(bb); len(back) != 16 || !back[0] || back[1] || !back[15] {
		t.Fatalf("DecodeBits: %v", back)
	}
	big := 1e39 // beyond float32: converts to +Inf
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(vec0.EncodeFloat32(nil)), "at least one element"},
		{second(vec0.EncodeFloat32([]float32{1, float32(math.NaN())})), "element 1 is NaN"},
		{second(vec0.EncodeFloat32([]float32{float32(big)})), "element 0 is +Inf"},
		{second(vec0.EncodeBits(make([]bool, 3))), "multiple of 8 dimensions, got 3"},
		{second(vec0.DecodeFloat32([]byte{1, 2, 3})), "multiple of 4 bytes, got 3"},
	} {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), "vec0: ") || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, c.err)
		}
	}
}

func second(_ interface{}, err error) error { return err }
