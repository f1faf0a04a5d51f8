package broker

// Fetch v4-17. v4 adds isolation level and the last stable offset, v5 the
// log start offset, v7 fetch sessions (KIP-227: broker/fetchsession decides,
// fetch_sessions.go holds the cache; an incremental fetch reads every
// partition of its session and is answered with those that changed), v11
// rack-aware reads, v12 is flexible, v13 names topics by id, v15 moves the
// replica id into a tagged replica state.
//
// Consumers read up to the high watermark (read_uncommitted) or the last
// stable offset (read_committed, which also gets the aborted transactions
// of what it read), from the log start offset (which
// retention and DeleteRecords move): a fetch below it is OFFSET_OUT_OF_RANGE,
// and every partition's answer carries it. A fetch at an offset compaction
// removed is served from the next batch. A fetch that finds fewer than
// min_bytes waits, up to max_wait_ms, for a high watermark to move on one of
// its partitions: a delayed operation woken by the event, never a poll.
//
// A follower's fetch (a replica id >= 0: ReplicaState from v15) reads up to
// the leader's log end and is answered by Partition.ReadForFollower
// (broker/partition); a consumer's by Partition.ReadForConsumer. When a
// follower's finds nothing it waits for the log to grow, not for the high
// watermark, which its own next fetch moves.

import (
	"context"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(1, 4, 17, handleFetch) }

func handleFetch(_ context.Context, b *Broker, req *request) (reply, error) {
	sess := b.fetchSessions.begin(req.kreq.(*kmsg.FetchRequest))
	if sess.Err != 0 {
		resp := req.kreq.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode = sess.Err
		return reply{resp: resp}, nil
	}
	// r is the request as the session reads it: an incremental fetch
	// reads every partition of its session, not only those it names.
	r := new(kmsg.FetchRequest)
	*r = *req.kreq.(*kmsg.FetchRequest)
	r.Topics = sess.Topics
	resp, n, watches := b.fetchOnce(r)
	if n >= int(r.MinBytes) || r.MaxWaitMillis <= 0 || len(watches) == 0 {
		b.fetchSessions.finish(&sess, resp)
		return reply{resp: resp}, nil
	}
	maxWait := time.Duration(r.MaxWaitMillis) * time.Millisecond
	rep := reply{resp: resp}
	rep.finish = func(ctx context.Context) {
		// The session sees the final answer: what it leaves out of an
		// incremental one depends on what the last read found.
		defer func() { b.fetchSessions.finish(&sess, rep.resp.(*kmsg.FetchResponse)) }()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		timer := b.clock.AfterFunc(maxWait, cancel)
		defer timer.Stop()
		for {
			if !waitAny(ctx, watches) {
				return // max wait elapsed: answer with what the last read found
			}
			var n int
			resp, n, watches = b.fetchOnce(r)
			*rep.resp.(*kmsg.FetchResponse) = *resp
			if n >= int(r.MinBytes) {
				return
			}
		}
	}
	return rep, nil
}

// waitAny blocks until one channel closes (true) or ctx ends (false).
func waitAny(ctx context.Context, chans []<-chan struct{}) bool {
	cases := make([]reflect.SelectCase, 0, len(chans)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen != 0
}

// fetchOnce reads every requested partition once. It returns the response,
// the record bytes it holds, and the channels that signal a high watermark
// change on the partitions read (taken before reading, so no change is
// missed).
func (b *Broker) fetchOnce(r *kmsg.FetchRequest) (*kmsg.FetchResponse, int, []<-chan struct{}) {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	var watches []<-chan struct{}
	total := 0
	replicaID := fetchReplicaID(r)
	budget := int(r.MaxBytes)
	if budget <= 0 {
		budget = 1 << 31 / 2
	}
	for _, rt := range r.Topics {
		var t *topic
		if r.Version >= 13 {
			t = b.topicByID(rt.TopicID)
		} else {
			t = b.topicByName(rt.Topic)
		}
		st := kmsg.NewFetchResponseTopic()
		st.Topic = rt.Topic
		st.TopicID = rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			// Empty, not null: librdkafka refuses a null record set.
			sp.RecordBatches = []byte{}
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			p, perr := t.leaderPartition(rp.Partition, rp.CurrentLeaderEpoch)
			switch {
			case t == nil && r.Version >= 13:
				sp.ErrorCode = kerr.UnknownTopicID.Code
			case perr != nil:
				sp.ErrorCode = perr.Code
			case p.Err() != nil:
				sp.ErrorCode = kerr.KafkaStorageError.Code
			default:
				// KIP-74: the first non-empty partition returns at least one
				// whole batch even past the limits, so a consumer never sticks
				// on a batch larger than its fetch size.
				limit := min(int(rp.PartitionMaxBytes), budget-total)
				if total == 0 && limit <= 0 {
					limit = 1
				}
				if replicaID >= 0 {
					watches = append(watches, p.WatchGrowth(), p.Failed())
					total += p.ReadForFollower(replicaID, &rp, limit, &sp)
					break
				}
				watches = append(watches, p.Watch())
				total += p.ReadForConsumer(rp.FetchOffset, limit, r.IsolationLevel == 1, &sp)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, total, watches
}
