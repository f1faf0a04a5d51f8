package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The encoding of records, used in Raft entries and in snapshots.
//
// A batch is
//
//	format u8 (batchFormat) | count uvarint | record...
//
// and a record is
//
//	type u8 | version u8 | body length uvarint | body
//
// Integers in bodies are varints (zigzag for signed), strings and arrays
// carry a uvarint length, optional arrays a uvarint length+1 (0 = absent),
// ids are 16 raw bytes. A decoder refuses an unknown type or version, a
// body that does not end where its length says, lengths past the input or
// past the limits below, and trailing bytes: a record it cannot read whole
// is never half-applied. A new field means a new version, and the decoder
// keeps reading every old one. Every record is at version 0 except:
//
//   - PartitionChangeRecord version 1 is version 0's body followed by its
//     Request (broker id, broker epoch, leader epoch, partition epoch).
//     The encoder writes version 1 only when Request is set, so a change
//     the controller made on its own encodes as before, and a version 0
//     record (every log written before Request existed) decodes with
//     Request nil: "no leader's request recorded", which the metadata
//     checker does not judge. A binary from before version 1 refuses a
//     log that holds one (ErrCorrupt): such a log cannot be downgraded.

const batchFormat = 1

// Limits on what one record may hold. They bound what a decoder allocates
// for hostile input and are far above anything the controller writes.
const (
	maxStringLen   = 1 << 16
	maxReplicas    = 1 << 10
	maxListeners   = 64
	maxRecordBytes = 1 << 24
)

// ErrCorrupt marks bytes that are not a valid batch or snapshot.
var ErrCorrupt = errors.New("metadata: corrupt encoding")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// EncodeBatch appends the encoding of records to dst.
func EncodeBatch(dst []byte, records []Record) []byte {
	dst = append(dst, batchFormat)
	dst = binary.AppendUvarint(dst, uint64(len(records)))
	for _, r := range records {
		dst = appendRecord(dst, r)
	}
	return dst
}

// DecodeBatch decodes a whole batch; it fails with ErrCorrupt on anything
// but exactly one well-formed batch.
func DecodeBatch(b []byte) ([]Record, error) {
	d := decoder{b: b}
	if f := d.u8(); d.err == nil && f != batchFormat {
		return nil, corrupt("batch format %d", f)
	}
	n := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if n > uint64(len(d.b)/3) { // a record takes at least 3 bytes
		return nil, corrupt("batch of %d records in %d bytes", n, len(d.b))
	}
	out := make([]Record, 0, n)
	for i := uint64(0); i < n; i++ {
		r, err := d.record()
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		out = append(out, r)
	}
	if len(d.b) != 0 {
		return nil, corrupt("%d bytes after the last record", len(d.b))
	}
	return out, nil
}

func appendRecord(dst []byte, r Record) []byte {
	var e encoder
	var version byte
	switch r := r.(type) {
	case *ClusterRecord:
		e.str(r.ClusterID)
	case *FeatureLevelRecord:
		e.str(r.Name)
		e.varint(int64(r.Level))
	case *RegisterBrokerRecord:
		e.varint(int64(r.NodeID))
		e.varint(r.Epoch)
		e.b = append(e.b, r.IncarnationID[:]...)
		e.uvarint(uint64(len(r.Listeners)))
		for _, l := range r.Listeners {
			e.str(l.Name)
			e.str(l.Host)
			e.uvarint(uint64(l.Port))
			e.varint(int64(l.SecurityProtocol))
		}
		e.str(r.Rack)
		e.bool(r.Fenced)
		e.bool(r.InControlledShutdown)
	case *FenceBrokerRecord:
		e.varint(int64(r.NodeID))
		e.varint(r.Epoch)
	case *UnfenceBrokerRecord:
		e.varint(int64(r.NodeID))
		e.varint(r.Epoch)
	case *BrokerShutdownRecord:
		e.varint(int64(r.NodeID))
		e.varint(r.Epoch)
	case *TopicRecord:
		e.str(r.Name)
		e.b = append(e.b, r.ID[:]...)
	case *ConfigRecord:
		e.varint(int64(r.Resource))
		e.str(r.Name)
		e.str(r.Key)
		e.str(r.Value)
		e.bool(r.Delete)
	case *PartitionRecord:
		e.b = append(e.b, r.TopicID[:]...)
		e.varint(int64(r.Partition))
		e.int32s(r.Replicas)
		e.int32s(r.ISR)
		e.int32s(r.ELR)
		e.int32s(r.LastKnownELR)
		e.varint(int64(r.Leader))
		e.varint(int64(r.LeaderEpoch))
		e.varint(int64(r.PartitionEpoch))
	case *PartitionChangeRecord:
		e.b = append(e.b, r.TopicID[:]...)
		e.varint(int64(r.Partition))
		e.varint(int64(r.Leader))
		e.optInt32s(r.ISR)
		e.optInt32s(r.Replicas)
		e.optInt32s(r.ELR)
		e.varint(int64(r.LeaderEpoch))
		e.varint(int64(r.PartitionEpoch))
		if q := r.Request; q != nil {
			version = 1
			e.varint(int64(q.BrokerID))
			e.varint(q.BrokerEpoch)
			e.varint(int64(q.LeaderEpoch))
			e.varint(int64(q.PartitionEpoch))
		}
	case *RemoveTopicRecord:
		e.b = append(e.b, r.ID[:]...)
	case *ProducerIDsRecord:
		e.varint(int64(r.BrokerID))
		e.varint(r.BrokerEpoch)
		e.varint(r.NextProducerID)
	default:
		panic(fmt.Sprintf("metadata: unknown record %T", r))
	}
	dst = append(dst, byte(r.Type()), version)
	dst = binary.AppendUvarint(dst, uint64(len(e.b)))
	return append(dst, e.b...)
}

type encoder struct{ b []byte }

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) int32s(s []int32) {
	e.uvarint(uint64(len(s)))
	for _, v := range s {
		e.varint(int64(v))
	}
}
func (e *encoder) optInt32s(s []int32) {
	if s == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(s)) + 1)
	for _, v := range s {
		e.varint(int64(v))
	}
}

// decoder reads from b; the first error sticks and every later read
// returns zero values, so a record decoder checks d.err once at its end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(format, args...)
	}
	d.b = nil
}

func (d *decoder) u8() byte {
	if len(d.b) < 1 {
		d.fail("unexpected end")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("int32 out of range: %d", v)
		return 0
	}
	return int32(v)
}

func (d *decoder) int16() int16 {
	v := d.varint()
	if v < math.MinInt16 || v > math.MaxInt16 {
		d.fail("int16 out of range: %d", v)
		return 0
	}
	return int16(v)
}

func (d *decoder) bool() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("bad bool")
		return false
	}
}

func (d *decoder) length(limit int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("length %d past the limit or the input", n)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.length(maxStringLen)
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) id() (id [16]byte) {
	if len(d.b) < 16 {
		d.fail("short id")
		return id
	}
	copy(id[:], d.b)
	d.b = d.b[16:]
	return id
}

func (d *decoder) int32sN(n int) []int32 {
	s := make([]int32, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		s = append(s, d.int32())
	}
	return s
}

func (d *decoder) int32s() []int32 {
	return d.int32sN(d.length(maxReplicas))
}

func (d *decoder) optInt32s() []int32 {
	n := d.length(maxReplicas + 1)
	if n == 0 {
		return nil
	}
	return d.int32sN(n - 1)
}

// record decodes one record: header, then a body decoder confined to the
// body's bytes.
func (d *decoder) record() (Record, error) {
	typ, version := RecordType(d.u8()), d.u8()
	n := d.length(maxRecordBytes)
	if d.err != nil {
		return nil, d.err
	}
	body := decoder{b: d.b[:n]}
	d.b = d.b[n:]
	if version > maxVersion(typ) {
		return nil, corrupt("record type %d version %d is unknown", typ, version)
	}
	r := body.body(typ, version)
	if body.err != nil {
		return nil, fmt.Errorf("record type %d: %w", typ, body.err)
	}
	if r == nil {
		return nil, corrupt("unknown record type %d", typ)
	}
	if len(body.b) != 0 {
		return nil, corrupt("record type %d: %d bytes after the body", typ, len(body.b))
	}
	return r, nil
}

// maxVersion is the newest version of a record type this decoder reads.
func maxVersion(typ RecordType) byte {
	if typ == TypePartitionChange {
		return 1
	}
	return 0
}

func (d *decoder) body(typ RecordType, version byte) Record {
	switch typ {
	case TypeCluster:
		return &ClusterRecord{ClusterID: d.str()}
	case TypeFeatureLevel:
		return &FeatureLevelRecord{Name: d.str(), Level: d.int16()}
	case TypeRegisterBroker:
		r := &RegisterBrokerRecord{NodeID: d.int32(), Epoch: d.varint(), IncarnationID: d.id()}
		n := d.length(maxListeners)
		for i := 0; i < n && d.err == nil; i++ {
			l := Listener{Name: d.str(), Host: d.str()}
			port := d.uvarint()
			if port > math.MaxUint16 {
				d.fail("port %d", port)
			}
			l.Port, l.SecurityProtocol = uint16(port), d.int16()
			r.Listeners = append(r.Listeners, l)
		}
		r.Rack, r.Fenced, r.InControlledShutdown = d.str(), d.bool(), d.bool()
		return r
	case TypeFenceBroker:
		return &FenceBrokerRecord{NodeID: d.int32(), Epoch: d.varint()}
	case TypeUnfenceBroker:
		return &UnfenceBrokerRecord{NodeID: d.int32(), Epoch: d.varint()}
	case TypeBrokerShutdown:
		return &BrokerShutdownRecord{NodeID: d.int32(), Epoch: d.varint()}
	case TypeTopic:
		return &TopicRecord{Name: d.str(), ID: d.id()}
	case TypeConfig:
		r := &ConfigRecord{Resource: ResourceType(d.int16()), Name: d.str(), Key: d.str(), Value: d.str(), Delete: d.bool()}
		if r.Resource != ResourceTopic {
			d.fail("config resource type %d", r.Resource)
		}
		return r
	case TypePartition:
		return &PartitionRecord{
			TopicID: d.id(), Partition: d.int32(),
			Replicas: d.int32s(), ISR: d.int32s(), ELR: d.int32s(), LastKnownELR: d.int32s(),
			Leader: d.int32(), LeaderEpoch: d.int32(), PartitionEpoch: d.int32(),
		}
	case TypePartitionChange:
		r := &PartitionChangeRecord{
			TopicID: d.id(), Partition: d.int32(), Leader: d.int32(),
			ISR: d.optInt32s(), Replicas: d.optInt32s(), ELR: d.optInt32s(),
			LeaderEpoch: d.int32(), PartitionEpoch: d.int32(),
		}
		if version >= 1 {
			r.Request = &LeaderRequest{BrokerID: d.int32(), BrokerEpoch: d.varint(), LeaderEpoch: d.int32(), PartitionEpoch: d.int32()}
		}
		return r
	case TypeRemoveTopic:
		return &RemoveTopicRecord{ID: d.id()}
	case TypeProducerIDs:
		return &ProducerIDsRecord{BrokerID: d.int32(), BrokerEpoch: d.varint(), NextProducerID: d.varint()}
	}
	return nil
}
