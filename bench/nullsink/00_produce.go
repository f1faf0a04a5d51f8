package nullsink

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce v3-v13.
//
// v3 is the first version with record batches (magic 2) and a transactional
// ID, and the oldest Kafka 4 serves. v5 adds LogStartOffset, v8 per-record
// errors, v9 is flexible, v10 adds the current-leader tags, v13 names topics
// by ID instead of name (KIP-516).
//
// Nothing is stored and records are never decoded: each batch header is
// read (kmsg.RecordBatch, whose Records stay raw bytes) only to count its
// records (lastOffsetDelta+1) and to find the next batch. acks=0 advances the
// offsets and sends no response, as Kafka does.

func (c *conn) produce(version int16, corr int32, body []byte) error {
	req := &c.produceReq
	req.Version = version
	// Unsafe: topic names alias body, which outlives neither this call nor
	// the response encoded before it returns.
	if err := req.UnsafeReadFrom(body); err != nil {
		return fmt.Errorf("Produce v%d: %w", version, err)
	}
	resp := &c.produceResp
	resp.Version = version
	resp.ThrottleMillis = 0
	resp.Topics = resp.Topics[:0]
	for i := range req.Topics {
		rt := &req.Topics[i]
		t, code := c.produceTopic(version, rt)

		resp.Topics = grow1(resp.Topics)
		st := &resp.Topics[len(resp.Topics)-1]
		*st = kmsg.ProduceResponseTopic{
			Topic:      rt.Topic,
			TopicID:    rt.TopicID,
			Partitions: st.Partitions[:0],
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			st.Partitions = grow1(st.Partitions)
			sp := &st.Partitions[len(st.Partitions)-1]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LogStartOffset = 0
			sp.ErrorCode, sp.BaseOffset = code, -1
			if code == 0 {
				sp.ErrorCode, sp.BaseOffset = c.appendRecords(t, rp.Partition, rp.Records)
			}
		}
	}
	if req.Acks == 0 {
		return nil
	}
	c.appendResponse(corr, resp)
	return nil
}

// produceTopic finds the topic of a produce request by name (v3-v12, created
// on first mention) or ID (v13+, must have been seen in Metadata first).
func (c *conn) produceTopic(version int16, rt *kmsg.ProduceRequestTopic) (*topic, int16) {
	if version >= 13 {
		if c.last != nil && c.last.id == rt.TopicID {
			return c.last, 0
		}
		t := c.s.topicByID(rt.TopicID)
		if t == nil {
			return nil, kerr.UnknownTopicID.Code
		}
		c.last = t
		return t, 0
	}
	if c.last != nil && c.last.name == rt.Topic {
		return c.last, 0
	}
	if rt.Topic == "" {
		return nil, kerr.InvalidTopicException.Code
	}
	t := c.s.topicByName(rt.Topic)
	if t == nil {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	c.last = t
	return t, 0
}

// appendRecords "appends" the batches in records to a partition: it counts
// their records and advances the partition's next offset by that much,
// returning the error code and the base offset of the first batch.
func (c *conn) appendRecords(t *topic, partition int32, records []byte) (int16, int64) {
	if partition < 0 || int(partition) >= len(t.next) {
		return kerr.UnknownTopicOrPartition.Code, -1
	}
	n, code := c.countRecords(records)
	if code != 0 {
		return code, -1
	}
	end := t.next[partition].Add(n)
	return 0, end - n
}

// countRecords walks the batch headers in records and returns the number of
// offsets they take. Only v2 batches are accepted (Kafka 4 refuses the old
// message formats); empty or truncated input is refused.
func (c *conn) countRecords(records []byte) (int64, int16) {
	if len(records) == 0 {
		return 0, kerr.InvalidRecord.Code
	}
	var n int64
	b := &c.batch
	for len(records) > 0 {
		if err := b.UnsafeReadFrom(records); err != nil {
			return 0, kerr.CorruptMessage.Code
		}
		if b.Magic != 2 {
			return 0, kerr.UnsupportedForMessageFormat.Code
		}
		if b.LastOffsetDelta < 0 || b.NumRecords <= 0 {
			return 0, kerr.InvalidRecord.Code
		}
		// ReadFrom has checked that Length-49 bytes of records follow
		// the 61-byte header, so the whole batch, 12+Length bytes, is
		// within records.
		n += int64(b.LastOffsetDelta) + 1
		records = records[12+int(b.Length):]
	}
	return n, 0
}

// grow1 extends s by one element, reusing its spare capacity: the element
// may hold the values of an earlier use, which callers overwrite.
func grow1[S ~[]E, E any](s S) S {
	if len(s) < cap(s) {
		return s[:len(s)+1]
	}
	var zero E
	return append(s, zero)
}
