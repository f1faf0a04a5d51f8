"""confluent-kafka (librdkafka) against Weir, run by e2e/python_test.go.

usage: confluent_tour.py BOOTSTRAP TOPIC PARTITIONS N

Produces N records (key "k<i % 7>", value "v<i>") with an idempotent
Producer, collecting every delivery report, then reads every partition back
from the beginning with Consumer.assign() (Weir has no group coordinator
yet, so no subscribe()). Prints one JSON object on stdout:

  {"delivered": [{"key": .., "value": .., "partition": .., "offset": .., "error": str|null}, ...],
   "consumed":  [{"key": .., "value": .., "partition": .., "offset": ..}, ...],
   "watermarks": {"<p>": [low, high], ...}}
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    partitions, n = int(sys.argv[3]), int(sys.argv[4])

    delivered = []

    def on_delivery(err, msg):
        delivered.append({
            "key": msg.key().decode(),
            "value": msg.value().decode(),
            "partition": msg.partition(),
            "offset": msg.offset(),
            "error": None if err is None else str(err),
        })

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    })
    for i in range(n):
        producer.produce(topic, key="k%d" % (i % 7), value="v%d" % i, on_delivery=on_delivery)
        producer.poll(0)
    left = producer.flush(30)
    if left:
        sys.exit("%d messages still undelivered after flush" % left)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        # assign() needs no group, but librdkafka wants a group.id; nothing
        # is committed.
        "group.id": "weir-e2e-unused",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        # Fetches at the end of a partition wait this long; requests on the
        # same connection (ListOffsets for the watermarks) queue behind them,
        # as with Kafka.
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    consumed = []
    at_eof = set()
    deadline = time.monotonic() + 30
    while len(at_eof) < partitions and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == -191:  # KafkaError._PARTITION_EOF
                at_eof.add(msg.partition())
                continue
            sys.exit("consume error: %s" % msg.error())
        at_eof.discard(msg.partition())
        consumed.append({
            "key": msg.key().decode(),
            "value": msg.value().decode(),
            "partition": msg.partition(),
            "offset": msg.offset(),
        })
    watermarks = {
        str(p): list(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10))
        for p in range(partitions)
    }
    consumer.close()

    json.dump({"delivered": delivered, "consumed": consumed, "watermarks": watermarks}, sys.stdout)


if __name__ == "__main__":
    main()
