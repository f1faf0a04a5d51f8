package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the format version of history.jsonl, written on its first
// line. Version 1 had no header line and Unix-epoch times; version 2 has op
// times since the run's start, watermarks on every partition read, the
// producer client of every send, txn ops and per-partition final marks;
// version 3 adds the isolation level of assigns and subscribes and the
// commit time of transactions (optional fields: a version 2 history reads
// as version 3 without them); version 4 adds consumer-group members' ops
// (join, assignment, commit, offsets: new functions, so a version 3
// history reads as version 4); version 5 adds the consumer offsets a
// transaction committed (Txn.Group and Txn.Offsets, optional fields);
// version 6 adds tombstones (Send.Tombstone, Record.Tombstone) and
// compacted topics (Final.Compacted), optional fields; version 7 adds the
// leader epochs of partition reads (PartitionRead.LeaderEpoch and
// PartitionRead.Epochs, optional fields).
const Version = 7

// MinVersion is the oldest version Decode reads.
const MinVersion = 2

// Format is the header's format name.
const Format = "weir-history"

// MaxLineBytes bounds one line of history.jsonl when decoding.
const MaxLineBytes = 64 << 20

// Header is the first line of history.jsonl.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
}

// CurrentHeader is the header Encode writes.
func CurrentHeader() Header { return Header{Format: Format, Version: Version} }

// Encode writes the header line, then h as JSON lines, one op per line,
// fields in Op's order: the same history always gives the same bytes.
func Encode(w io.Writer, h []Op) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(CurrentHeader()); err != nil {
		return err
	}
	for i := range h {
		if err := enc.Encode(&h[i]); err != nil { // Encode ends each value with '\n'
			return fmt.Errorf("encode op %d: %w", h[i].Index, err)
		}
	}
	return bw.Flush()
}

// Decode reads a history written by Encode: a header line of a version
// from MinVersion to Version,
// then ops. Blank lines are skipped; a missing or other header, unknown
// fields, ill-formed ops and lines over MaxLineBytes are errors. Decode
// does not check pairing: use Validate.
func Decode(r io.Reader) ([]Op, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	var h []Op
	line, header := 0, false
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !header {
			if err := decodeHeader(b); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			header = true
			continue
		}
		var op Op
		if err := strictUnmarshal(b, &op); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if err := op.check(); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		h = append(h, op)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", line+1, MaxLineBytes)
		}
		return nil, err
	}
	if !header {
		return nil, errors.New("empty history: no header line")
	}
	return h, nil
}

func decodeHeader(b []byte) error {
	var hd Header
	if err := strictUnmarshal(b, &hd); err != nil || hd.Format != Format {
		return fmt.Errorf("not a %s header (a history of format version 1, with Unix-epoch times, has none; record it again)", Format)
	}
	if hd.Version < MinVersion || hd.Version > Version {
		return fmt.Errorf("%s version %d, this build reads versions %d to %d", Format, hd.Version, MinVersion, Version)
	}
	return nil
}

// strictUnmarshal decodes exactly one JSON value with no unknown fields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one value")
	}
	return nil
}
