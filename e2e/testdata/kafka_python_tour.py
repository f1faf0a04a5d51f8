"""kafka-python's tutorial, run against Weir by e2e/python_test.go.

usage: kafka_python_tour.py BOOTSTRAP TOPIC N KEYED

Sends N JSON dicts without keys and KEYED dicts with the key b"user-42",
flushes, then reads the topic back from the beginning with a group-less
KafkaConsumer. Prints one JSON object on stdout:

  {"sent":     [{"i": .., "partition": .., "offset": ..}, ...],
   "keyed":    [{"i": .., "partition": .., "offset": ..}, ...],
   "consumed": [{"partition": .., "offset": .., "key": str|null, "value": {..}}, ...],
   "partitions": {"<p>": {"beginning": .., "end": .., "for_time_0": offset|null}, ...}}

(beginning_offsets, end_offsets and offsets_for_times({tp: 0}) after reading.)
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def main():
    bootstrap, topic, n, keyed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        value_serializer=lambda v: json.dumps(v).encode(),
    )
    futures = [(i, producer.send(topic, {"i": i, "kind": "plain"})) for i in range(n)]
    keyed_futures = [
        (i, producer.send(topic, key=b"user-42", value={"i": i, "kind": "keyed"}))
        for i in range(keyed)
    ]
    producer.flush(timeout=30)
    sent = []
    for i, f in futures:
        md = f.get(timeout=30)
        sent.append({"i": i, "partition": md.partition, "offset": md.offset})
    keyed_sent = []
    for i, f in keyed_futures:
        md = f.get(timeout=30)
        keyed_sent.append({"i": i, "partition": md.partition, "offset": md.offset})
    producer.close(timeout=10)

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        value_deserializer=lambda b: json.loads(b.decode()),
    )
    consumed = []
    for msg in consumer:
        consumed.append({
            "partition": msg.partition,
            "offset": msg.offset,
            "key": None if msg.key is None else msg.key.decode(),
            "value": msg.value,
        })
        if len(consumed) == n + keyed:
            break

    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    beginning = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    by_time = consumer.offsets_for_times({tp: 0 for tp in tps})
    partitions = {
        str(tp.partition): {
            "beginning": beginning[tp],
            "end": end[tp],
            "for_time_0": None if by_time[tp] is None else by_time[tp].offset,
        }
        for tp in tps
    }
    consumer.close()

    json.dump({"sent": sent, "keyed": keyed_sent, "consumed": consumed, "partitions": partitions}, sys.stdout)


if __name__ == "__main__":
    main()
