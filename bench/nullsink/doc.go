// Package nullsink is a protocol-only Kafka "null broker": it speaks enough
// of the Kafka wire protocol for a producer to run at full speed against it,
// and stores nothing.
//
// It exists to measure the client side of a benchmark (franz-go, the load
// generator, the loopback network) without any broker cost, so that Weir's
// own numbers can be read against a ceiling. DESIGN.md ("Performance") gives
// the reference figures for such a null broker.
//
// What it models: one broker (itself) that leads every partition of every
// topic. Every topic a client names exists, with Options.Partitions
// partitions; its ID is derived from its name. Served APIs, and nothing else
// (ApiVersions advertises exactly this table, see apis.go):
//
//   - ApiVersions (18) v0-v4. A request at a version it does not serve gets
//     UNSUPPORTED_VERSION with a v0 body that lists the served versions, as
//     Kafka does, so that the client can retry at a version both know.
//   - Metadata (3) v0-v13: this broker, requested topics (created on first
//     mention), this broker leading every partition.
//   - InitProducerId (22) v0-v5: producer IDs 1, 2, 3, ..., epoch 0.
//   - Produce (0) v3-v13: every batch is walked by its header only (record
//     count, never records) and every partition answered with error 0 and a
//     base offset from a per-partition counter. acks=0 gets no response.
//
// Invariants:
//   - All encoding and decoding is kmsg's; the package writes only the frame
//     size and the response header (correlation ID, flexible tag byte).
//   - Responses leave a connection in request order: one goroutine per
//     connection reads, handles and writes, so pipelined requests are
//     answered in order by construction. Responses to requests that are
//     already fully buffered are written with one write call.
//   - A request it cannot serve (unknown key, unserved version, undecodable
//     body, frame larger than Options.MaxRequestBytes) closes the connection,
//     like Kafka; protocol problems inside a served request are answered with
//     Kafka error codes.
//   - Partition offsets only grow: base offset of a batch = sum of the record
//     counts (lastOffsetDelta+1) of the batches before it.
//
// What it must never do: keep package-level mutable state, allocate per
// record, or keep a goroutine alive after Serve's context ends (Serve waits
// for every connection goroutine before it returns).
package nullsink
