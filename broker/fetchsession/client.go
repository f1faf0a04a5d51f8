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
	// sent is what the broker's session holds for each partition, as of
	// the last answer.
	sent map[Key]partReq
	// pending is the request in flight, applied to sent by Done.
	pending struct {
		full      bool
		topicIDs  bool
		topics    []kmsg.FetchRequestTopic
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
// its absence.
func (c *Client) Build(req *kmsg.FetchRequest, want []kmsg.FetchRequestTopic) {
	topicIDs := req.Version >= topicIDVersion
	c.pending.topicIDs = topicIDs
	c.pending.forgotten = c.pending.forgotten[:0]
	if c.id == 0 || req.Version < firstVersion {
		req.SessionID, req.SessionEpoch = c.closeID, InitialEpoch
		req.Topics, req.ForgottenTopics = want, nil
		c.pending.full, c.pending.topics = true, want
		return
	}
	req.SessionID, req.SessionEpoch = c.id, c.epoch
	req.Topics, req.ForgottenTopics = req.Topics[:0], req.ForgottenTopics[:0]
	wanted := make(map[Key]bool, len(c.sent))
	for _, t := range want {
		var out *kmsg.FetchRequestTopic
		for _, p := range t.Partitions {
			k := keyOf(topicIDs, t.Topic, t.TopicID, p.Partition)
			wanted[k] = true
			if prev, ok := c.sent[k]; ok && prev == reqOf(&p) {
				continue
			}
			if out == nil {
				nt := kmsg.NewFetchRequestTopic()
				nt.Topic, nt.TopicID = t.Topic, t.TopicID
				req.Topics = append(req.Topics, nt)
				out = &req.Topics[len(req.Topics)-1]
			}
			out.Partitions = append(out.Partitions, p)
		}
	}
	for k := range c.sent {
		if !wanted[k] {
			c.pending.forgotten = append(c.pending.forgotten, k)
		}
	}
	sortKeys(c.pending.forgotten) // the request's bytes must not follow map order
	for _, k := range c.pending.forgotten {
		if n := len(req.ForgottenTopics); n == 0 || req.ForgottenTopics[n-1].Topic != k.Topic || req.ForgottenTopics[n-1].TopicID != k.TopicID {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID = k.Topic, k.TopicID
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
		}
		ft := &req.ForgottenTopics[len(req.ForgottenTopics)-1]
		ft.Partitions = append(ft.Partitions, k.Partition)
	}
	c.pending.full, c.pending.topics = false, req.Topics
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
		c.sent = map[Key]partReq{}
		if c.id <= 0 { // no room at the broker: the next fetch asks again
			c.id = 0
			return nil
		}
		c.record(c.pending.topics)
		return nil
	}
	if resp.SessionID != c.id {
		c.reset(c.id)
		return &SessionError{Code: kerr.FetchSessionIDNotFound.Code}
	}
	c.epoch = NextEpoch(c.epoch)
	c.record(c.pending.topics)
	for _, k := range c.pending.forgotten {
		delete(c.sent, k)
	}
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
	c.id, c.epoch, c.sent = 0, 0, nil
}

func (c *Client) record(topics []kmsg.FetchRequestTopic) {
	for _, t := range topics {
		for _, p := range t.Partitions {
			k := keyOf(c.pending.topicIDs, t.Topic, t.TopicID, p.Partition)
			c.sent[k] = reqOf(&p)
		}
	}
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
