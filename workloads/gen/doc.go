// Package gen is the machinery every workload shares: seeded randomness per
// worker, Poisson arrivals at a rate, bounded waits, logical processes that
// become new processes after an unknown outcome, producer clients shared by
// several processes (Sender), reads recorded as polls, the final read of a
// topic, and the error rules that decide fail from info. A workload
// (queue, clickstream, payments, vitals) says what to send and how to
// judge it; how an operation is issued, bounded and recorded lives here,
// once.
//
// # Model (Jepsen's)
//
// A process runs one operation at a time and records it through a
// history.Recorder as an invoke followed by exactly one completion: ok (it
// happened, with the values in the completion), fail (it certainly did not
// happen) or info (it may or may not have happened). After an info the
// process is considered crashed: it continues under a new process id
// (Process.Crash), so a history never shows a process with two open
// operations. Process ids come from one Procs counter per run, so they are
// unique and, in the simulation, deterministic.
//
// A Sender is one kgo producer client shared by several processes, each
// with one send open, so the client pipelines several records while every
// process stays Jepsen-shaped. The invoke of a send is recorded and its
// record handed to the client in one step under the Sender's lock: the
// invoke order is the order the client received its records, which is the
// order its acknowledged offsets must follow per partition. A send that
// ends info closes the client incarnation (the record may still be
// buffered or in flight in it) and the next send opens a new one with a new
// id (history.Send.Client).
//
// A send is fail only when the broker refused it for what the batch or the
// client's configuration is (DefiniteFailure): every attempt gets the same
// answer, so none was appended. Everything else (timeouts, lost
// connections, retriable codes, the run ending) is info.
//
// # Reads
//
// PollValue turns kgo fetches into a history.Poll: every partition the
// fetches answered, with the watermarks the broker sent, with or without
// records, the leader epochs of the batches returned and, given the
// client, the latest leader epoch the fetch can have been answered in (the
// client's). ReadToEnd reads partitions from their log start to the end the
// cluster lists (the high watermark; with read_committed it first waits
// until no transaction is open below it, so the last stable offset reaches
// it), recording the reading as an assign and polls of one process, and
// keeps control records only to know how far it read (a partition whose
// last offset is a transaction marker is read to its end when the marker
// is). FinalRead wraps ReadToEnd in a final op (history.Final) after the
// run: ok only when every partition the topic was created with was read to
// its end. Processing applications restore their state with ReadToEnd too.
// The listing asks every broker for the topic's metadata and lists each
// partition from the leader in the newest leader epoch any of them knows
// (with that epoch as the request's current leader epoch), never from one
// broker's image alone: a broker cut off from the controller keeps
// answering from its last image, and its log may end far below the new
// leader's (seed 68113). A read that stops making progress asks kgo for
// metadata again, for the same reason.
//
// Every read_committed reader whose polls the history records keeps control
// records (ReadCommitted; ReadToEnd does too) and leaves them out of the
// history: only then does kgo's KIP-320 position carry the leader epoch of
// the last batch it read, markers included, as the Java consumer's does.
// kgo drops them by default and pairs an offset past trailing markers with
// the epoch of the last data record; after a leader change it then reports
// a data loss (kgo.ErrDataLoss) whenever a marker was written in a later
// epoch than that record, which the checkers would count as a watermark
// regression of the broker. Keeping them does not cover an aborted
// transaction's batch, which kgo drops under read_committed either way:
// past one of a later epoch, before its marker is stable, kgo can still
// report such a loss (seed 21021), and the checker leaves a report over
// offsets where the client returned nothing alone on topics transactions
// write to (checker.dataLosses).
//
// # Bounds
//
// Every wait is bounded: kgo's retry, request and delivery timeouts
// (ClientConfig), an op timeout on each send, a poll timeout on each poll,
// and the caller's context. kgo's BeginTransaction is the one call that
// takes no context and can wait for good (it retries InitProducerId while
// the coordinator answers CONCURRENT_TRANSACTIONS): BeginTxn bounds it by
// closing the client when its context ends. Nothing here spins; Sleep and
// the pacing wait on timers.
//
// The package keeps no package-level mutable state; every goroutine it
// starts ends before the call that started it returns (a closing client
// may finish in a goroutine that Sender.Close waits for).
package gen
