// vec0-node: one dqlite node with vec0 linked in, driven over HTTP by the
// cluster test (tests/cluster/run.py).
//
// vec0 is registered with sqlite3_auto_extension() before the dqlite node
// starts, so every SQLite connection dqlite opens in this process (one per
// client while the node leads, and the ones it checkpoints with) has the
// module.  The HTTP API on 127.0.0.1 lets the test send SQL through the
// cluster (the go-dqlite driver forwards it to the leader), ask who leads,
// transfer leadership, dump the database as this node holds it, and keep one
// "pinned" client connection: dqlite serves it with a single SQLite
// connection on the node that led when it was opened, so its vec0 cache
// stays warm there while other connections and raft change the pages.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: ${SRCDIR}/../../../dist/libvec0.a -lsqlite3 -lm
#include <sqlite3.h>
#include "vec0.h"

// With noSpill set, every connection is opened with PRAGMA cache_spill = OFF:
// a transaction keeps its dirty pages in the page cache until it commits
// instead of writing some to the WAL early.  dqlite 1.11 (Debian 12's) fails
// a transaction that spilled with SQLITE_IOERR_SHORT_READ, and an HNSW
// insert of a few hundred rows dirties more pages than the default cache
// holds (docs/replication.md).
static int noSpill = 0;

static int setNoSpill(sqlite3 *db, char **pzErr, const void *pApi) {
	if (!noSpill) return SQLITE_OK;
	return sqlite3_exec(db, "PRAGMA cache_spill = OFF", 0, 0, pzErr);
}

static int registerVec0(int bNoSpill) {
	int rc = sqlite3_auto_extension((void (*)(void))sqlite3_vec_init);
	noSpill = bNoSpill;
	if (rc == SQLITE_OK) rc = sqlite3_auto_extension((void (*)(void))setNoSpill);
	return rc;
}
*/
import "C"

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dqlite "github.com/canonical/go-dqlite"
	"github.com/canonical/go-dqlite/app"
	"github.com/canonical/go-dqlite/client"
)

type node struct {
	app    *app.App
	db     *sql.DB
	dbname string
	pin    *sql.Conn
}

type stmt struct {
	SQL  string        `json:"sql"`
	Args []interface{} `json:"args"`
}

// The checksum of the libvec0.a linked in, set by the Makefile with -X: Go
// caches by flags, not by the library's contents, so a new one relinks.
var vec0LibSum string

func main() {
	dir := flag.String("dir", "", "data directory of this node")
	addr := flag.String("addr", "", "dqlite address (host:port)")
	api := flag.String("api", "", "HTTP control address (host:port)")
	join := flag.String("join", "", "comma-separated addresses of nodes to join")
	dbname := flag.String("db", "vec", "database name")
	threshold := flag.Uint64("snapshot-threshold", 0, "raft snapshot threshold (0: dqlite's default)")
	trailing := flag.Uint64("snapshot-trailing", 0, "raft entries kept after a snapshot")
	parent := flag.Int("parent", 0, "exit when this process id is no longer the parent")
	spill := flag.Bool("cache-spill", true, "let SQLite spill dirty pages to the WAL before commit (false: PRAGMA cache_spill = OFF)")
	flag.Parse()
	log.SetPrefix(fmt.Sprintf("node %s: ", *addr))
	log.SetFlags(log.Lmicroseconds)

	noSpill := 0
	if !*spill {
		noSpill = 1
	}
	if rc := C.registerVec0(C.int(noSpill)); rc != 0 {
		log.Fatalf("sqlite3_auto_extension: %d", int(rc))
	}
	opts := []app.Option{
		app.WithAddress(*addr),
		app.WithRolesAdjustmentFrequency(500 * time.Millisecond),
		app.WithLogFunc(func(l client.LogLevel, format string, a ...interface{}) {
			if l >= client.LogWarn {
				log.Printf("dqlite: "+format, a...)
			}
		}),
	}
	if *join != "" {
		opts = append(opts, app.WithCluster(strings.Split(*join, ",")))
	}
	if *threshold > 0 {
		opts = append(opts, app.WithSnapshotParams(dqlite.SnapshotParams{
			Threshold: *threshold, Trailing: *trailing}))
	}
	a, err := app.New(*dir, opts...)
	if err != nil {
		log.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	if err := a.Ready(ctx); err != nil {
		log.Fatalf("ready: %v", err)
	}
	db, err := a.Open(ctx, *dbname)
	cancel()
	if err != nil {
		log.Fatalf("open: %v", err)
	}
	n := &node{app: a, db: db, dbname: *dbname}

	mux := http.NewServeMux()
	mux.HandleFunc("/exec", n.handle(n.exec))
	mux.HandleFunc("/query", n.handle(n.query))
	mux.HandleFunc("/leader", n.handle(n.leader))
	mux.HandleFunc("/cluster", n.handle(n.cluster))
	mux.HandleFunc("/transfer", n.handle(n.transfer))
	mux.HandleFunc("/dump", n.handle(n.dump))
	mux.HandleFunc("/pin/open", n.handle(n.pinOpen))
	mux.HandleFunc("/pin/query", n.handle(n.pinQuery))
	mux.HandleFunc("/pin/exec", n.handle(n.pinExec))
	srv := &http.Server{Addr: *api, Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatalf("http: %v", err)
		}
	}()
	log.Printf("ready: id %d", a.ID())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	if *parent != 0 {
		// A test runner killed with SIGKILL cannot stop its nodes: they
		// notice they were orphaned and stop themselves.
		go func() {
			for os.Getppid() == *parent {
				time.Sleep(500 * time.Millisecond)
			}
			log.Printf("parent %d gone, stopping", *parent)
			sig <- syscall.SIGTERM
		}()
	}
	<-sig
	srv.Close()
	if n.pin != nil {
		n.pin.Close()
	}
	db.Close()
	a.Close()
}

// handle decodes a JSON request body (numbers kept exact), runs f with a
// deadline and writes its result, or {"error": ...} with status 500.
func (n *node) handle(f func(ctx context.Context, req map[string]interface{}) (interface{}, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := map[string]interface{}{}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil && err.Error() != "EOF" {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
		defer cancel()
		res, err := f(ctx, req)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(res)
	}
}

// args turns JSON values into SQL arguments: integers stay int64, other
// numbers become float64, strings stay text.
func args(v interface{}) []interface{} {
	list, _ := v.([]interface{})
	out := make([]interface{}, len(list))
	for i, x := range list {
		if num, ok := x.(json.Number); ok {
			if iv, err := strconv.ParseInt(string(num), 10, 64); err == nil {
				out[i] = iv
			} else {
				out[i], _ = num.Float64()
			}
		} else {
			out[i] = x
		}
	}
	return out
}

// exec runs {"stmts": [{"sql", "args"}...]} in one transaction on the leader.
func (n *node) exec(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	list, _ := req["stmts"].([]interface{})
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		m, _ := s.(map[string]interface{})
		q, _ := m["sql"].(string)
		if _, err := tx.ExecContext(ctx, q, args(m["args"])...); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("%.60s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return map[string]int{"stmts": len(list)}, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...interface{}) (*sql.Rows, error)
}

// query runs {"sql", "args"} on the leader and returns {"rows": [[...]...]};
// a BLOB comes back base64-encoded.
func (n *node) query(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	return runQuery(ctx, n.db, req)
}

// pinOpen opens the pinned connection (on the current leader); pinQuery
// runs a query on it, as query does.  It is never used while the node
// that serves it does not lead: the driver would drop it.
func (n *node) pinOpen(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	if n.pin != nil {
		n.pin.Close()
		n.pin = nil
	}
	conn, err := n.db.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	n.pin = conn
	return runQuery(ctx, conn, req)
}

func (n *node) pinQuery(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	if n.pin == nil {
		return nil, fmt.Errorf("no pinned connection")
	}
	return runQuery(ctx, n.pin, req)
}

// pinExec runs {"sql", "args"} on the pinned connection, outside a transaction.
func (n *node) pinExec(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	if n.pin == nil {
		return nil, fmt.Errorf("no pinned connection")
	}
	q, _ := req["sql"].(string)
	if _, err := n.pin.ExecContext(ctx, q, args(req["args"])...); err != nil {
		return nil, err
	}
	return map[string]string{}, nil
}

func runQuery(ctx context.Context, db querier, req map[string]interface{}) (interface{}, error) {
	q, _ := req["sql"].(string)
	rows, err := db.QueryContext(ctx, q, args(req["args"])...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := [][]interface{}{}
	for rows.Next() {
		vals := make([]interface{}, len(cols))
		ptrs := make([]interface{}, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return map[string]interface{}{"rows": out}, nil
}

// leader reports the leader as this node's raft instance knows it.
func (n *node) leader(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	cli, err := n.app.Client(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	info, err := cli.Leader(ctx)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return map[string]interface{}{"id": 0, "address": "", "self": n.app.ID()}, nil
	}
	return map[string]interface{}{"id": info.ID, "address": info.Address, "self": n.app.ID()}, nil
}

// cluster lists the members as the leader knows them, with their roles.
func (n *node) cluster(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	cli, err := n.app.Leader(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	nodes, err := cli.Cluster(ctx)
	if err != nil {
		return nil, err
	}
	out := []map[string]interface{}{}
	for _, m := range nodes {
		out = append(out, map[string]interface{}{"id": m.ID, "address": m.Address, "role": m.Role.String()})
	}
	return map[string]interface{}{"nodes": out}, nil
}

// transfer asks the leader to hand leadership to {"id"}.
func (n *node) transfer(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	id, err := strconv.ParseUint(fmt.Sprint(req["id"]), 10, 64)
	if err != nil {
		return nil, err
	}
	cli, err := n.app.Leader(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	if err := cli.Transfer(ctx, id); err != nil {
		return nil, err
	}
	return map[string]uint64{"id": id}, nil
}

// dump writes the database and WAL files as this node holds them into
// {"out"} (a directory), through dqlite's dump request to the local node.
func (n *node) dump(ctx context.Context, req map[string]interface{}) (interface{}, error) {
	out, _ := req["out"].(string)
	cli, err := n.app.Client(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	files, err := cli.Dump(ctx, n.dbname)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	names := []string{}
	for _, f := range files {
		if err := ioutil.WriteFile(filepath.Join(out, f.Name), f.Data, 0o644); err != nil {
			return nil, err
		}
		names = append(names, f.Name)
	}
	return map[string]interface{}{"files": names}, nil
}
