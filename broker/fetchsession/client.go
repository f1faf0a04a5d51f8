package fetchsession

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client is a fetcher's side of its session with one broker (Kafka's
// FetchSessionHandler): Build decides what a request carries, Done learns
// from its answer. Without a session it sends full fetches that ask for
// one; in a session it sends the partitions whose parameters changed and
// forgets those no longer wanted. Any failure falls back to a full fetch
// that opens a new session. Not safe for concurrent use: one request at
// a time.
type Client struct {
	id    int32 // 0: no session
	epoch int32
	// closeID is a session to close with the next full fetch (after a
	// failure, so the broker frees its slot at once).
	closeID int32
	// held and heldReq are what the broker's session holds, as of the
	// last answer: the partitions of the last request's want, in its
	// order, with their parameters. A want naming the same partitions in
	// the same order (a fetcher's usual round) is compared position by
	// position, without a map.
	held    []Key
	heldReq []partReq
	// pending is the request in flight, taken as held by Done.
	pending struct {
		full      bool
		keys      []Key
		reqs      []partReq
		forgotten []Key
	}
}

// ID is the session in use (0: none).
func (c *Client) ID() int32 { return c.id }

// Build fills req's SessionID, SessionEpoch, Topics and ForgottenTopics
// to fetch want (the partitions to fetch now, with their parameters; the
// topics of req.Version's kind: ids from v13). req.Version must be set.
// Partitions the session holds and want does not name are forgotten, so
// a partition paused for a round (backoff, truncation) is not read in
// its absence. req keeps want's partitions (it may alias want).
func (c *Client) Build(req *kmsg.FetchRequest, want []kmsg.FetchRequestTopic) {
	topicIDs := req.Version >= topicIDVersion
	keys, reqs := c.pending.keys[:0], c.pending.reqs[:0]
	for _, t := range want {
		for i := range t.Partitions {
			keys = append(keys, keyOf(topicIDs, t.Topic, t.TopicID, t.Partitions[i].Partition))
			reqs = append(reqs, reqOf(&t.Partitions[i]))
		}
	}
	c.pending.keys, c.pending.reqs = keys, reqs
	c.pending.forgotten = c.pending.forgotten[:0]
	if c.id == 0 || req.Version < firstVersion {
		req.SessionID, req.SessionEpoch = c.closeID, InitialEpoch
		req.Topics, req.ForgottenTopics = want, nil
		c.pending.full = true
		return
	}
	c.pending.full = false
	req.SessionID, req.SessionEpoch = c.id, c.epoch
	req.Topics, req.ForgottenTopics = req.Topics[:0], req.ForgottenTopics[:0]
	changed := c.changedInOrder(keys, reqs)
	if changed == nil {
		changed = c.changedAnyOrder(keys, reqs)
	}
	i := 0
	for _, t := range want {
		var out *kmsg.FetchRequestTopic
		for _, p := range t.Partitions {
			if !changed[i] {
				i++
				continue
			}
			i++
			if out == nil {
				nt := kmsg.NewFetchRequestTopic()
				nt.Topic, nt.TopicID = t.Topic, t.TopicID
				req.Topics = append(req.Topics, nt)
				out = &req.Topics[len(req.Topics)-1]
			}
			out.Partitions = append(out.Partitions, p)
		}
	}
	for _, k := range c.pending.forgotten {
		if n := len(req.ForgottenTopics); n == 0 || req.ForgottenTopics[n-1].Topic != k.Topic || req.ForgottenTopics[n-1].TopicID != k.TopicID {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID = k.Topic, k.TopicID
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
		}
		ft := &req.ForgottenTopics[len(req.ForgottenTopics)-1]
		ft.Partitions = append(ft.Partitions, k.Partition)
	}
}

// changedInOrder marks the partitions to send when keys are the held
// partitions in the held order; nil when they are not.
func (c *Client) changedInOrder(keys []Key, reqs []partReq) []bool {
	if !slices.Equal(keys, c.held) {
		return nil
	}
	changed := make([]bool, len(keys))
	for i := range reqs {
		changed[i] = reqs[i] != c.heldReq[i]
	}
	return changed
}

// changedAnyOrder marks the partitions to send (new or changed) and
// lists the held ones to forget, sorted (the request's bytes must not
// follow map order).
func (c *Client) changedAnyOrder(keys []Key, reqs []partReq) []bool {
	held := make(map[Key]partReq, len(c.held))
	for i, k := range c.held {
		held[k] = c.heldReq[i]
	}
	changed := make([]bool, len(keys))
	for i, k := range keys {
		prev, ok := held[k]
		changed[i] = !ok || prev != reqs[i]
		delete(held, k)
	}
	for k := range held {
		c.pending.forgotten = append(c.pending.forgotten, k)
	}
	sortKeys(c.pending.forgotten)
	return changed
}

// SessionError is a top-level error in a Fetch answer: the request was
// not served, and the next one is a full fetch opening a new session.
type SessionError struct{ Code int16 }

func (e *SessionError) Error() string {
	return fmt.Sprintf("fetch session: %v", kerr.ErrorForCode(e.Code))
}

// Done learns the answer to the request Build made. A top-level error
// (a session error, or any other) resets the session and is returned: the
// response carries no partitions.
func (c *Client) Done(resp *kmsg.FetchResponse) error {
	if resp.ErrorCode != 0 {
		closeID := c.id // the broker may still hold it: free its slot
		if resp.ErrorCode == kerr.FetchSessionIDNotFound.Code {
			closeID = 0
		}
		c.reset(closeID)
		return &SessionError{Code: resp.ErrorCode}
	}
	if c.pending.full {
		c.closeID = 0
		c.id, c.epoch = resp.SessionID, NextEpoch(InitialEpoch)
		if c.id <= 0 { // no room at the broker: the next fetch asks again
			c.id, c.held, c.heldReq = 0, c.held[:0], c.heldReq[:0]
			return nil
		}
	} else {
		if resp.SessionID != c.id {
			c.reset(c.id)
			return &SessionError{Code: kerr.FetchSessionIDNotFound.Code}
		}
		c.epoch = NextEpoch(c.epoch)
	}
	// The session now holds exactly this request's want. The buffers
	// swap, so a steady fetcher allocates nothing here.
	c.held, c.pending.keys = c.pending.keys, c.held[:0]
	c.heldReq, c.pending.reqs = c.pending.reqs, c.heldReq[:0]
	return nil
}

// Failed is told that the request got no answer (the connection broke or
// timed out): the broker may or may not have moved the session on, so
// the next request is a full fetch that closes it and opens a new one.
func (c *Client) Failed() { c.reset(c.id) }

// Reset forgets the session, closing it with the next full fetch (the
// partition set or the leader changed beyond what increments carry).
func (c *Client) Reset() { c.reset(c.id) }

func (c *Client) reset(closeID int32) {
	if closeID != 0 {
		c.closeID = closeID
	}
	c.id, c.epoch, c.held, c.heldReq = 0, 0, c.held[:0], c.heldReq[:0]
}

func sortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		if c := bytes.Compare(a.TopicID[:], b.TopicID[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return cmp.Compare(a.Partition, b.Partition)
	})
}
