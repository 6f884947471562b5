// boltcheck: an independent referee for Conclave's bbolt writer and reader, built on the real
// go.etcd.io/bbolt library (Debian's golang-github-coreos-bbolt-dev, the one etcd 3.4 links).
//
//	boltcheck check FILE   bbolt's own consistency check (tx.Check): every page reachable or free,
//	                       none twice, types right. Prints each error; exit status 1 if any.
//	boltcheck dump FILE    every bucket (nested too) and key/value as JSON lines:
//	                       {"path":["key"],"key":"<hex>","value":"<hex>"} and, for a bucket,
//	                       {"path":[...],"key":"<hex>","bucket":true,"seq":N}
//	boltcheck pages FILE   one JSON line per page in use: {"id":N,"type":"leaf","count":N,"overflow":N}
//	                       and a last line {"meta":{"pgid":N,"txid":N,"root":N,"freelist":N,"pageSize":N}}
//	boltcheck make FILE    builds a database from JSON operations on stdin, one per line, each its
//	                       own transaction unless inside {"op":"begin"} ... {"op":"commit"}:
//	                       {"op":"put","path":["a","b"],"key":"<hex>","value":"<hex>"}   (creates buckets)
//	                       {"op":"del","path":[...],"key":"<hex>"}
//	                       {"op":"bucket","path":[...]}        {"op":"delbucket","path":[...],"key":"<hex>"}
//	                       {"op":"fill","path":[...],"percent":0.9}  (FillPercent for later puts)
//	                       {"op":"seq","path":[...],"seq":N}   (bucket sequence)
//	                       Options: -pagesize N (default 4096).
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

func main() {
	pageSize := flag.Int("pagesize", 4096, "page size for make")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: boltcheck check|dump|pages|make FILE")
		os.Exit(2)
	}
	file := flag.Arg(1)
	var err error
	switch flag.Arg(0) {
	case "check":
		err = check(file)
	case "dump":
		err = dump(file)
	case "pages":
		err = pages(file)
	case "make":
		err = makeDB(file, *pageSize)
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func openRO(file string) (*bolt.DB, error) {
	return bolt.Open(file, 0o600, &bolt.Options{ReadOnly: true})
}

func check(file string) error {
	db, err := openRO(file)
	if err != nil {
		return err
	}
	defer db.Close()
	n := 0
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			fmt.Println(e)
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d errors found", n)
	}
	return nil
}

type entry struct {
	Path   []string `json:"path"`
	Key    string   `json:"key"`
	Value  *string  `json:"value,omitempty"`
	Bucket bool     `json:"bucket,omitempty"`
	Seq    *uint64  `json:"seq,omitempty"`
}

func dump(file string) error {
	db, err := openRO(file)
	if err != nil {
		return err
	}
	defer db.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var walk func(path []string, b *bolt.Bucket) error
	walk = func(path []string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				sub := b.Bucket(k)
				seq := sub.Sequence()
				if err := enc.Encode(entry{Path: path, Key: hex.EncodeToString(k), Bucket: true, Seq: &seq}); err != nil {
					return err
				}
				return walk(append(append([]string{}, path...), string(k)), sub)
			}
			val := hex.EncodeToString(v)
			return enc.Encode(entry{Path: path, Key: hex.EncodeToString(k), Value: &val})
		})
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			seq := b.Sequence()
			if err := enc.Encode(entry{Path: []string{}, Key: hex.EncodeToString(name), Bucket: true, Seq: &seq}); err != nil {
				return err
			}
			return walk([]string{string(name)}, b)
		})
	})
}

func pages(file string) error {
	// Read-write: a read-only handle has no freelist, which tx.Page needs (nothing is written).
	db, err := bolt.Open(file, 0o600, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	enc := json.NewEncoder(os.Stdout)
	return db.View(func(tx *bolt.Tx) error {
		hwm := int(tx.Size() / int64(db.Info().PageSize))
		for id := 0; id < hwm; {
			p, err := tx.Page(id)
			if err != nil {
				return err
			}
			if p == nil {
				break
			}
			if err := enc.Encode(map[string]interface{}{"id": p.ID, "type": p.Type, "count": p.Count, "overflow": p.OverflowCount}); err != nil {
				return err
			}
			id += 1 + p.OverflowCount
		}
		return enc.Encode(map[string]interface{}{"meta": map[string]interface{}{
			"pgid": hwm, "txid": tx.ID(), "pageSize": db.Info().PageSize,
		}})
	})
}

type op struct {
	Op      string   `json:"op"`
	Path    []string `json:"path"`
	Key     string   `json:"key"`
	Value   string   `json:"value"`
	Percent float64  `json:"percent"`
	Seq     uint64   `json:"seq"`
}

func bucketAt(tx *bolt.Tx, path []string, create bool) (*bolt.Bucket, error) {
	if len(path) == 0 {
		return nil, fmt.Errorf("empty bucket path")
	}
	var b *bolt.Bucket
	var err error
	for i, name := range path {
		if i == 0 {
			if create {
				b, err = tx.CreateBucketIfNotExists([]byte(name))
			} else {
				b = tx.Bucket([]byte(name))
			}
		} else if create {
			b, err = b.CreateBucketIfNotExists([]byte(name))
		} else {
			b = b.Bucket([]byte(name))
		}
		if err != nil {
			return nil, err
		}
		if b == nil {
			return nil, fmt.Errorf("no bucket %v", path[:i+1])
		}
	}
	return b, nil
}

func makeDB(file string, pageSize int) error {
	db, err := bolt.Open(file, 0o600, &bolt.Options{PageSize: pageSize})
	if err != nil {
		return err
	}
	defer db.Close()
	fill := map[string]float64{}
	var tx *bolt.Tx
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		var o op
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			return err
		}
		if o.Op == "begin" {
			if tx, err = db.Begin(true); err != nil {
				return err
			}
			continue
		}
		if o.Op == "commit" {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx = nil
			continue
		}
		own := tx == nil
		if own {
			if tx, err = db.Begin(true); err != nil {
				return err
			}
		}
		if err := apply(tx, o, fill); err != nil {
			tx.Rollback()
			return err
		}
		if own {
			if err := tx.Commit(); err != nil {
				return err
			}
			tx = nil
		}
	}
	if tx != nil {
		return tx.Commit()
	}
	return sc.Err()
}

func apply(tx *bolt.Tx, o op, fill map[string]float64) error {
	key, err := hex.DecodeString(o.Key)
	if err != nil {
		return err
	}
	pathKey := fmt.Sprint(o.Path)
	switch o.Op {
	case "put":
		b, err := bucketAt(tx, o.Path, true)
		if err != nil {
			return err
		}
		if f, ok := fill[pathKey]; ok {
			b.FillPercent = f
		}
		val, err := hex.DecodeString(o.Value)
		if err != nil {
			return err
		}
		return b.Put(key, val)
	case "del":
		b, err := bucketAt(tx, o.Path, false)
		if err != nil {
			return err
		}
		return b.Delete(key)
	case "bucket":
		_, err := bucketAt(tx, o.Path, true)
		return err
	case "delbucket":
		if len(o.Path) == 0 {
			return tx.DeleteBucket(key)
		}
		b, err := bucketAt(tx, o.Path, false)
		if err != nil {
			return err
		}
		return b.DeleteBucket(key)
	case "fill":
		fill[pathKey] = o.Percent
		return nil
	case "seq":
		b, err := bucketAt(tx, o.Path, true)
		if err != nil {
			return err
		}
		return b.SetSequence(o.Seq)
	}
	return fmt.Errorf("unknown op %q", o.Op)
}
