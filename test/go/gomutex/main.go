// gomutex: workers that take etcd's Go concurrency.Mutex (clientv3/concurrency, etcd 3.4) on one
// prefix, so tests can check that @conclave/concurrency's Mutex and Go's exclude each other.
//
//	gomutex -endpoints A,B,C -prefix lockbench/0 -workers 4 -total 250
//
// Each worker has its own session (lease). It locks, sleeps -hold, unlocks, until -total
// acquisitions are done between all workers. The last stdout line is JSON:
// {"ops":N,"errors":N,"first_error":"..."}. Exit status 0 unless flags or the connection fail.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

type summary struct {
	Ops        int64  `json:"ops"`
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client endpoints")
	prefix := flag.String("prefix", "lockbench/0", "mutex prefix")
	workers := flag.Int("workers", 4, "concurrent workers, one session each")
	total := flag.Int64("total", 100, "acquisitions in all")
	hold := flag.Duration("hold", time.Millisecond, "time a worker holds the lock")
	ttl := flag.Int("ttl", 10, "session TTL in seconds")
	timeout := flag.Duration("timeout", 60*time.Second, "overall deadline")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(2)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var ops, errs, next int64
	var mu sync.Mutex
	first := ""
	fail := func(err error) {
		atomic.AddInt64(&errs, 1)
		mu.Lock()
		if first == "" {
			first = err.Error()
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := concurrency.NewSession(cli, concurrency.WithTTL(*ttl), concurrency.WithContext(ctx))
			if err != nil {
				fail(err)
				return
			}
			defer s.Close()
			for atomic.AddInt64(&next, 1) <= *total {
				m := concurrency.NewMutex(s, *prefix)
				if err := m.Lock(ctx); err != nil {
					fail(err)
					continue
				}
				time.Sleep(*hold)
				if err := m.Unlock(ctx); err != nil {
					fail(err)
					continue
				}
				atomic.AddInt64(&ops, 1)
			}
		}()
	}
	wg.Wait()
	out, _ := json.Marshal(summary{Ops: ops, Errors: errs, FirstError: first})
	fmt.Println(string(out))
}
