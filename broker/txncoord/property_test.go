package txncoord

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// The properties drive transactional producers against a shard the way
// the broker does (every record durable at once, marker jobs completed in
// any order, restarts that load the log), with EndTxn requests that are
// delayed in the network and delivered after the producer retried and
// moved on, and check:
//
//   - every end the coordinator decides (a marker job) ends the
//     transaction a request meant to end, with exactly the partitions that
//     transaction added: a delayed EndTxn never ends a later transaction
//     (the Bufstream anomaly), and a committed transaction's markers cover
//     every partition it wrote to;
//   - a fenced epoch never commits: an EndTxn or AddPartitionsToTxn with
//     an epoch older than the producer's current one changes nothing;
//   - a transaction left open past its timeout is aborted by the
//     coordinator, and its producer can no longer commit it;
//   - a restart (a new shard loading the log) has the same state and
//     sends again exactly the ends that were not completed.

// propClient is one transactional producer (a transactional id) as the
// test knows it.
type propClient struct {
	id    string
	pid   int64
	epoch int16
	// seq numbers the producer's transactions; parts are the partitions
	// the current one added (answered ok); open: it added any.
	seq   int
	parts map[TopicPartition]bool
	open  bool
	// fenced: the coordinator aborted its transaction (timeout): it must
	// call InitProducerId again.
	fenced bool
	// ending is the EndTxn the producer sent and was told to retry
	// (CONCURRENT_TRANSACTIONS): as real clients do, it sends it again
	// until it is answered, and starts nothing new meanwhile.
	ending *sentEnd
	ready  bool // InitProducerId answered
}

// sentEnd is an EndTxn request and the transaction it was sent to end.
type sentEnd struct {
	req   *kmsg.EndTxnRequest
	seq   int
	parts []TopicPartition
}

type propWorld struct {
	t   *rapid.T
	cfg Config
	// delays: EndTxn requests may be delayed and delivered late.
	delays  bool
	s       *Shard
	log     []Record
	nowMs   int64
	nextPID int64
	clients []*propClient
	delayed []sentEnd
	// jobs are the marker jobs not completed yet.
	jobs []MarkerJob
	// ended: for each transactional id, the transactions (by seq) a job
	// ended, so that none is ended twice with different outcomes.
	ended map[string]map[int]bool
	// commits counts the transactions committed, to show the property
	// exercised something.
	commits int
}

func (w *propWorld) tv2() bool { return w.cfg.TV2 && !w.cfg.Defects.NoEpochBump }

func (w *propWorld) ids() (int64, int16) {
	w.nextPID++
	return w.nextPID, 0
}

// call runs one request through the shard and returns its answer and the
// marker jobs released by it.
func (w *propWorld) call(f func(Waiter) Output) (kmsg.Response, []MarkerJob) {
	out := f("w")
	resp, jobs := w.take(out)
	if resp == nil {
		w.t.Fatalf("a request was not answered")
	}
	return resp, jobs
}

// take appends out's batch, makes it durable and collects what is
// released.
func (w *propWorld) take(out Output) (kmsg.Response, []MarkerJob) {
	var resp kmsg.Response
	collect := func(o Output) {
		for _, r := range o.Replies {
			if resp != nil {
				w.t.Fatalf("two answers to one request")
			}
			resp = r.Resp
		}
		w.jobs = append(w.jobs, o.Markers...)
	}
	before := len(w.jobs)
	if out.Batch != nil {
		if out.Batch.BaseOffset != int64(len(w.log)) {
			w.t.Fatalf("batch at %d, log ends at %d", out.Batch.BaseOffset, len(w.log))
		}
		w.log = append(w.log, out.Batch.Records...)
	}
	collect(out)
	collect(w.s.Durable(int64(len(w.log))))
	return resp, slices.Clone(w.jobs[before:])
}

func (w *propWorld) client(t *rapid.T) *propClient {
	return rapid.SampledFrom(w.clients).Draw(t, "client")
}

// expectEnd checks the jobs one request released: none, or one ending the
// transaction end was sent for, with its partitions.
func (w *propWorld) expectEnd(c *propClient, end sentEnd, jobs []MarkerJob) {
	for _, j := range jobs {
		if j.TransactionalID != c.id {
			w.t.Fatalf("EndTxn of %s released markers of %s", c.id, j.TransactionalID)
		}
		if j.Commit != end.req.Commit {
			w.t.Fatalf("EndTxn(commit=%v) of %s transaction %d ended it with commit=%v", end.req.Commit, c.id, end.seq, j.Commit)
		}
		if !slices.Equal(j.Partitions, end.parts) {
			w.t.Fatalf("EndTxn of %s transaction %d (partitions %v) ended a transaction with partitions %v: it applied to another transaction", c.id, end.seq, end.parts, j.Partitions)
		}
		w.noteEnded(c.id, end.seq)
		if j.Commit {
			w.commits++
		}
	}
}

func (w *propWorld) noteEnded(id string, seq int) {
	if w.ended[id] == nil {
		w.ended[id] = map[int]bool{}
	}
	if w.ended[id][seq] {
		w.t.Fatalf("%s transaction %d ended twice", id, seq)
	}
	w.ended[id][seq] = true
}

func sortedTPs(m map[TopicPartition]bool) []TopicPartition {
	var out []TopicPartition
	for tp := range m {
		out = append(out, tp)
	}
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

func (w *propWorld) actions() map[string]func(*rapid.T) {
	tps := []TopicPartition{{"t", 0}, {"t", 1}, {"u", 0}}
	return map[string]func(*rapid.T){
		"init": func(t *rapid.T) {
			c := w.client(t)
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version, req.TransactionalID, req.TransactionTimeoutMillis = 5, &c.id, 10000
			resp, jobs := w.call(func(wt Waiter) Output { return w.s.InitProducerID(w.nowMs, req, w.ids, wt) })
			r := resp.(*kmsg.InitProducerIDResponse)
			for _, j := range jobs {
				// The fence of an open transaction: an abort of exactly it.
				if j.Commit || !c.open || !slices.Equal(j.Partitions, sortedTPs(c.parts)) {
					t.Fatalf("InitProducerId of %s released %+v; its open transaction had %v", c.id, j, sortedTPs(c.parts))
				}
				w.noteEnded(c.id, c.seq)
			}
			switch r.ErrorCode {
			case 0:
				c.pid, c.epoch, c.ready, c.fenced, c.ending = r.ProducerID, r.ProducerEpoch, true, false, nil
				c.seq++
				c.parts, c.open = map[TopicPartition]bool{}, false
			case kerr.ConcurrentTransactions.Code:
				if len(jobs) > 0 {
					c.fenced, c.ready = true, false
				}
			default:
				t.Fatalf("InitProducerId: %s", errName(r.ErrorCode))
			}
		},
		"add": func(t *rapid.T) {
			c := w.client(t)
			if !c.ready || c.ending != nil {
				t.Skip("no producer id, or ending its transaction")
			}
			tp := rapid.SampledFrom(tps).Draw(t, "partition")
			batch := rapid.Bool().Draw(t, "viaLeader")
			var code int16
			if batch {
				tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
				tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch = c.id, c.pid, c.epoch
				rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
				rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
				tx.Topics = append(tx.Topics, rt)
				resp, _ := w.call(func(wt Waiter) Output {
					return w.s.AddPartitionsBatch(w.nowMs, []kmsg.AddPartitionsToTxnRequestTransaction{tx}, wt)
				})
				code = resp.(*kmsg.AddPartitionsToTxnResponse).Transactions[0].Topics[0].Partitions[0].ErrorCode
			} else {
				req := kmsg.NewPtrAddPartitionsToTxnRequest()
				req.Version = 3
				req.TransactionalID, req.ProducerID, req.ProducerEpoch = c.id, c.pid, c.epoch
				rt := kmsg.NewAddPartitionsToTxnRequestTopic()
				rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
				req.Topics = append(req.Topics, rt)
				resp, _ := w.call(func(wt Waiter) Output { return w.s.AddPartitions(w.nowMs, req, wt) })
				code = resp.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode
			}
			switch {
			case code == 0 && c.fenced:
				t.Fatalf("a fenced producer of %s added a partition", c.id)
			case code == 0:
				c.parts[tp], c.open = true, true
			case c.fenced && code == kerr.ProducerFenced.Code:
				c.ready = false
			case code != kerr.ConcurrentTransactions.Code:
				t.Fatalf("AddPartitionsToTxn of %s: %s", c.id, errName(code))
			}
		},
		"end": func(t *rapid.T) {
			c := w.client(t)
			if !c.ready {
				t.Skip("no producer id")
			}
			if !c.open && !w.tv2() && c.ending == nil {
				t.Skip("under transaction version 1 there is nothing to end")
			}
			var end sentEnd
			if c.ending != nil {
				end = *c.ending
			} else {
				req := kmsg.NewPtrEndTxnRequest()
				req.Version = 5
				req.TransactionalID, req.ProducerID, req.ProducerEpoch = c.id, c.pid, c.epoch
				// A commit of nothing is refused; such a producer aborts.
				req.Commit = c.open && rapid.Bool().Draw(t, "commit")
				end = sentEnd{req: req, seq: c.seq, parts: sortedTPs(c.parts)}
			}
			req := end.req
			if w.delays && rapid.IntRange(0, 3).Draw(t, "delay") == 0 {
				// Lost in the network for now; the producer retries.
				w.delayed = append(w.delayed, end)
			}
			resp, jobs := w.call(func(wt Waiter) Output { return w.s.EndTxn(w.nowMs, req, w.ids, wt) })
			w.expectEnd(c, end, jobs)
			r := resp.(*kmsg.EndTxnResponse)
			switch {
			case r.ErrorCode == 0 && c.fenced:
				t.Fatalf("a fenced producer of %s ended a transaction", c.id)
			case r.ErrorCode == 0:
				c.seq++
				c.parts, c.open, c.ending = map[TopicPartition]bool{}, false, nil
				if r.ProducerEpoch >= 0 {
					c.pid, c.epoch = r.ProducerID, r.ProducerEpoch
				}
			case c.fenced && r.ErrorCode == kerr.ProducerFenced.Code:
				c.ready, c.ending = false, nil
			case r.ErrorCode == kerr.ConcurrentTransactions.Code:
				c.ending = &end
			default:
				t.Fatalf("EndTxn of %s: %s", c.id, errName(r.ErrorCode))
			}
		},
		"deliverDelayed": func(t *rapid.T) {
			if len(w.delayed) == 0 {
				t.Skip("nothing delayed")
			}
			i := rapid.IntRange(0, len(w.delayed)-1).Draw(t, "which")
			end := w.delayed[i]
			w.delayed = slices.Delete(w.delayed, i, i+1)
			var c *propClient
			for _, cl := range w.clients {
				if cl.id == end.req.TransactionalID {
					c = cl
				}
			}
			_, jobs := w.call(func(wt Waiter) Output { return w.s.EndTxn(w.nowMs, end.req, w.ids, wt) })
			w.expectEnd(c, end, jobs)
			if len(jobs) > 0 && end.seq == c.seq {
				// It ended the producer's current transaction (the
				// producer had not retried it yet): the producer moves on
				// the way a retry's answer would have told it.
				c.seq++
				c.parts, c.open, c.ending = map[TopicPartition]bool{}, false, nil
				c.ready = false
			}
		},
		"zombie": func(t *rapid.T) {
			// A producer of an older epoch of the id (fenced by a later
			// InitProducerId, or the producer of a finished transaction
			// under version 2): nothing it sends changes anything.
			c := w.client(t)
			if !c.ready || c.epoch < 2 {
				t.Skip("no epoch old enough")
			}
			old := int16(rapid.IntRange(0, int(c.epoch)-2).Draw(t, "oldEpoch"))
			before := len(w.log)
			add := kmsg.NewPtrAddPartitionsToTxnRequest()
			add.Version = 3
			add.TransactionalID, add.ProducerID, add.ProducerEpoch = c.id, c.pid, old
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = "t", []int32{0}
			add.Topics = append(add.Topics, rt)
			resp, _ := w.call(func(wt Waiter) Output { return w.s.AddPartitions(w.nowMs, add, wt) })
			if code := resp.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.ProducerFenced.Code {
				t.Fatalf("AddPartitionsToTxn of %s at old epoch %d (current %d): %s", c.id, old, c.epoch, errName(code))
			}
			end := kmsg.NewPtrEndTxnRequest()
			end.Version = 5
			end.TransactionalID, end.ProducerID, end.ProducerEpoch = c.id, c.pid, old
			end.Commit = true
			resp, jobs := w.call(func(wt Waiter) Output { return w.s.EndTxn(w.nowMs, end, w.ids, wt) })
			if code := resp.(*kmsg.EndTxnResponse).ErrorCode; code != kerr.ProducerFenced.Code || len(jobs) > 0 {
				t.Fatalf("EndTxn(commit) of %s at old epoch %d (current %d): %s, %d marker jobs", c.id, old, c.epoch, errName(code), len(jobs))
			}
			if len(w.log) != before {
				t.Fatalf("requests of a fenced epoch of %s wrote %d records", c.id, len(w.log)-before)
			}
		},
		"markersDone": func(t *rapid.T) {
			if len(w.jobs) == 0 {
				t.Skip("no markers under way")
			}
			i := rapid.IntRange(0, len(w.jobs)-1).Draw(t, "job")
			j := w.jobs[i]
			w.jobs = slices.Delete(w.jobs, i, i+1)
			w.take(w.s.MarkersWritten(w.nowMs, j))
		},
		"tick": func(t *rapid.T) {
			w.nowMs += int64(rapid.IntRange(0, 6000).Draw(t, "ms"))
			_, jobs := w.take(w.s.Tick(w.nowMs))
			for _, j := range jobs {
				var c *propClient
				for _, cl := range w.clients {
					if cl.id == j.TransactionalID {
						c = cl
					}
				}
				if j.Commit || !c.open || !slices.Equal(j.Partitions, sortedTPs(c.parts)) {
					t.Fatalf("a timeout of %s released %+v; its open transaction had %v", c.id, j, sortedTPs(c.parts))
				}
				w.noteEnded(c.id, c.seq)
				c.fenced = true
			}
		},
		"restart": func(t *rapid.T) {
			before := w.s.Dump()
			s := NewShard(w.cfg)
			for _, r := range w.log {
				if err := s.Replay(r.Key, r.Value); err != nil {
					t.Fatalf("replay: %v", err)
				}
			}
			// The new leader's followers may not have caught up: what it
			// loaded past its high watermark is not durable, and nothing
			// decided from it goes out before it is.
			end := int64(len(w.log))
			durable := rapid.Int64Range(0, end).Draw(t, "durable")
			out := s.FinishLoadDurable(w.nowMs, end, durable, w.s.CoordinatorEpoch()+1)
			if durable < end && (len(out.Markers) > 0 || len(out.Replies) > 0) {
				t.Fatalf("a coordinator loaded durable to %d of %d released %+v", durable, end, out)
			}
			out.Markers = append(out.Markers, s.Durable(end).Markers...)
			if after := s.Dump(); after != before {
				t.Fatalf("the log loads back as\n%s\nwant\n%s", after, before)
			}
			key := func(j MarkerJob) string {
				return fmt.Sprintf("%s/%d/%d/%v/%v", j.TransactionalID, j.ProducerID, j.ProducerEpoch, j.Commit, j.Partitions)
			}
			var want, got []string
			for _, j := range w.jobs {
				want = append(want, key(j))
			}
			for _, j := range out.Markers {
				got = append(got, key(j))
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("after a restart the coordinator sends markers %v, want %v", got, want)
			}
			if s.Prepared() != len(want) {
				t.Fatalf("after a restart %d transactions are prepared, want %d", s.Prepared(), len(want))
			}
			w.s, w.jobs = s, out.Markers
		},
	}
}

func newPropWorld(t *rapid.T, cfg Config) *propWorld {
	w := &propWorld{t: t, cfg: cfg, nowMs: 1_000_000, nextPID: 100, ended: map[string]map[int]bool{}}
	w.s = NewShard(cfg)
	w.s.FinishLoad(w.nowMs, 0, 0)
	for _, id := range []string{"a", "b"} {
		w.clients = append(w.clients, &propClient{id: id, parts: map[TopicPartition]bool{}})
	}
	return w
}

func transactionsProperty(cfg Config) func(*rapid.T) {
	return countingProperty(cfg, true, new(int))
}

// countingProperty is the property, with or without delayed EndTxn
// requests, adding the commits it saw to commits.
func countingProperty(cfg Config, delays bool, commits *int) func(*rapid.T) {
	return func(t *rapid.T) {
		w := newPropWorld(t, cfg)
		w.delays = delays
		t.Repeat(w.actions())
		*commits += w.commits
	}
}

// TestPropertyTransactions checks the properties above, with transaction
// version 2, and with version 1 only but no delayed EndTxn: under version
// 1 a delayed EndTxn does end the next transaction (Kafka's flaw before
// 4.0, which TestPropertyCatchesNoEpochBump shows).
func TestPropertyTransactions(t *testing.T) {
	// Deeper than rapid's defaults unless told otherwise (a run takes
	// about 0.1 s at these settings).
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, v := range map[string]string{"rapid.checks": "1000", "rapid.steps": "100"} {
		if given[name] || testing.Short() {
			continue
		}
		prev := flag.Lookup(name).Value.String()
		flag.Set(name, v)
		defer flag.Set(name, prev)
	}
	for _, tv2 := range []bool{true, false} {
		t.Run(fmt.Sprintf("tv2=%v", tv2), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TV2 = tv2
			commits := 0
			rapid.Check(t, countingProperty(cfg, tv2, &commits))
			if commits == 0 {
				t.Fatal("no transaction committed: the property checked nothing")
			}
		})
	}
}

// TestPropertyCatchesNoEpochBump: with KIP-890 part 2 turned off
// (Defects.NoEpochBump) the same property finds a delayed EndTxn ending a
// later transaction, with the message that says so.
func TestPropertyCatchesNoEpochBump(t *testing.T) {
	// A caught defect must not leave rapid's reproduction files behind,
	// and a fixed seed makes the search the same at every run.
	for name, v := range map[string]string{"rapid.nofailfile": "true", "rapid.seed": "1", "rapid.shrinktime": "100ms", "rapid.checks": "2000"} {
		prev := flag.Lookup(name).Value.String()
		flag.Set(name, v)
		defer flag.Set(name, prev)
	}
	cfg := DefaultConfig()
	cfg.Defects.NoEpochBump = true
	r := &failureRecorder{T: t}
	rapid.Check(r, transactionsProperty(cfg))
	if !r.failed || !strings.Contains(r.msg, "applied to another transaction") {
		t.Fatalf("the property did not catch the missing epoch bump (failed %v: %q)", r.failed, r.msg)
	}
}

// failureRecorder is a rapid.TB that records a failure instead of failing
// the test.
type failureRecorder struct {
	*testing.T
	failed bool
	msg    string
}

func (r *failureRecorder) Errorf(format string, args ...any) {
	r.failed = true
	if r.msg == "" {
		r.msg = fmt.Sprintf(format, args...)
	}
}
func (r *failureRecorder) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *failureRecorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *failureRecorder) Fatal(args ...any)                 { r.Error(args...) }
func (r *failureRecorder) Fail()                             { r.failed = true }
func (r *failureRecorder) FailNow()                          { r.failed = true }
func (r *failureRecorder) Failed() bool                      { return r.failed }
func (r *failureRecorder) Logf(string, ...any)               {}
func (r *failureRecorder) Log(...any)                        {}
