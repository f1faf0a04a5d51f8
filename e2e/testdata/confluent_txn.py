"""confluent-kafka (librdkafka) transactions against Weir, run by
e2e/transactions_test.go.

usage:
  confluent_txn.py commit-abort BOOTSTRAP TOPIC TXNID
      Three transactions of 10, 5 and 10 records to TOPIC (spread over its
      partitions by key), the second aborted, then reads TOPIC back with a
      read_committed and a read_uncommitted consumer. Prints
      {"committed": [values...], "all": [values...]}.

  confluent_txn.py copy BOOTSTRAP IN OUT GROUP TXNID LIMIT
      A consume-transform-produce loop: reads IN as a member of GROUP
      (read_committed), writes each value upper-cased to OUT, and commits
      the input offsets inside the same transaction
      (send_offsets_to_transaction), one transaction per poll, until LIMIT
      records were copied or IN is drained. Prints {"copied": n}.

  confluent_txn.py zombie BOOTSTRAP TOPIC TXNID
      A producer begins a transaction and writes a record; a second
      producer with the same transactional id initializes (which fences
      the first) and commits a transaction; the first then tries to commit.
      Prints {"zombie_error": "...", "zombie_fatal": bool}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def producer(bootstrap, txnid):
    return Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txnid,
        "transaction.timeout.ms": 30000,
        "linger.ms": 5,
    })


def read_all(bootstrap, topic, isolation):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "reader-%s-%f" % (isolation, time.time()),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": isolation,
    })
    md = c.list_topics(topic, timeout=10).topics[topic]
    tps = [TopicPartition(topic, p) for p in md.partitions]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    ends = {}
    for tp in tps:
        _, high = c.get_watermark_offsets(tp, timeout=10)
        ends[tp.partition] = high
    values = []
    done = set(p for p, e in ends.items() if e == 0)
    deadline = time.time() + 30
    while len(done) < len(ends) and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            # Control records are not returned: the position tells.
            for tp in c.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    done.add(tp.partition)
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                done.add(m.partition())
                continue
            raise KafkaException(m.error())
        values.append(m.value().decode())
        if m.offset() + 1 >= ends[m.partition()]:
            done.add(m.partition())
    c.close()
    if len(done) < len(ends):
        sys.exit("reading %s (%s) did not reach the end %s" % (topic, isolation, ends))
    return values


def commit_abort(bootstrap, topic, txnid):
    p = producer(bootstrap, txnid)
    p.init_transactions(30)
    for n, (count, commit) in enumerate([(10, True), (5, False), (10, True)]):
        p.begin_transaction()
        kind = "c" if commit else "a"
        for i in range(count):
            p.produce(topic, key=str(i), value="%s%d-%d" % (kind, n, i))
        if commit:
            p.commit_transaction(30)
        else:
            p.flush(30)
            p.abort_transaction(30)
    return {
        "committed": read_all(bootstrap, topic, "read_committed"),
        "all": read_all(bootstrap, topic, "read_uncommitted"),
    }


def copy(bootstrap, src, dst, group, txnid, limit):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })
    c.subscribe([src])
    p = producer(bootstrap, txnid)
    p.init_transactions(30)
    copied, idle = 0, 0
    deadline = time.time() + 60
    while copied < limit and time.time() < deadline:
        msgs = c.consume(num_messages=7, timeout=0.5)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            idle += 1
            if idle > 10 and c.assignment():
                break
            continue
        idle = 0
        p.begin_transaction()
        for m in msgs:
            p.produce(dst, key=m.key(), value=m.value().decode().upper(), partition=m.partition())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        copied += len(msgs)
    c.close()
    return {"copied": copied}


def zombie(bootstrap, topic, txnid):
    z = producer(bootstrap, txnid)
    z.init_transactions(30)
    z.begin_transaction()
    z.produce(topic, value="zombie")
    z.flush(30)
    fresh = producer(bootstrap, txnid)
    fresh.init_transactions(30)
    fresh.begin_transaction()
    fresh.produce(topic, value="fresh")
    fresh.commit_transaction(30)
    try:
        z.commit_transaction(30)
    except KafkaException as e:
        err = e.args[0]
        return {"zombie_error": err.name(), "zombie_fatal": err.fatal()}
    return {"zombie_error": "", "zombie_fatal": False}


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "commit-abort":
        out = commit_abort(*args)
    elif mode == "copy":
        out = copy(args[0], args[1], args[2], args[3], args[4], int(args[5]))
    elif mode == "zombie":
        out = zombie(*args)
    else:
        sys.exit("unknown mode %s" % mode)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
