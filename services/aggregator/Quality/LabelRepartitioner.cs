using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Settings of the label repartition step.</summary>
/// <param name="GroupId">Its consumer group ("{ConsumerGroup}-labels").</param>
/// <param name="CommitEveryRecords">Source offsets are committed (after every produced record is confirmed) at least this often.</param>
/// <param name="CommitInterval">... or at least this often (wall clock: it only bounds what a crash re-produces).</param>
/// <param name="Progress">Where the loop reports liveness; none when null.</param>
public sealed record LabelRepartitionSettings(string GroupId, int CommitEveryRecords, TimeSpan CommitInterval, LoopProgress? Progress = null);

/// <summary>
/// The label repartition step: reads the user's labels topic (any partitioner, any key), decodes and validates each
/// label once through the record policy (a rejected label is dead-lettered here with its original coordinates and
/// reason code), and produces each valid one to <see cref="TopicCatalog.LabelsById"/> on the partition murmur2 gives
/// its event id, keyed by the event id, with its original value and timestamp and headers naming its source partition
/// and offset. The quality join reads that topic as its label lane, so a label meets its prediction whatever partitioner
/// produced it. At-least-once: source offsets are committed only after the producer confirmed every record before them;
/// the idempotent producer keeps each source partition's records in order on every target partition, so the join drops
/// a record re-produced after a crash by its source offset (<see cref="QualityJoinTask"/>).
/// </summary>
public sealed class LabelRepartitioner
{
    /// <summary>Header with the label's partition on the labels topic (4 bytes, big-endian).</summary>
    public const string SourcePartitionHeader = "streammon.source-partition";

    /// <summary>Header with the label's offset on the labels topic (8 bytes, big-endian).</summary>
    public const string SourceOffsetHeader = "streammon.source-offset";

    private readonly TopicCatalog _topics;
    private readonly InputRecords _inputs;
    private readonly EventCodec _codec;
    private readonly ITaskMetrics? _metrics;
    private volatile bool _caughtUp;

    /// <summary>Creates the step over <paramref name="topics"/>, validating with <paramref name="inputs"/>.</summary>
    public LabelRepartitioner(TopicCatalog topics, InputRecords inputs, EventCodec codec, ITaskMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(codec);
        _topics = topics;
        _inputs = inputs;
        _codec = codec;
        _metrics = metrics;
    }

    /// <summary>
    /// True while every labels partition this instance owns is at its end and every record produced from them is
    /// confirmed: labels-by-id then holds all the labels this instance was given. The quality join counts an end of its
    /// label lane only then (<see cref="CoPartitionedSettings.UpstreamCaughtUp"/>), so predictions do not run ahead of
    /// labels still being repartitioned (a replay or a restart reads both from complete topics).
    /// </summary>
    public bool CaughtUp => _caughtUp;

    /// <summary>
    /// Where <paramref name="record"/> of the labels topic goes: a valid label to its murmur2 partition of the labels-by-id
    /// topic; a rejected one to the dead-letter topic (partition null: by key), observed at its Kafka timestamp (the step
    /// has no stream time; the timestamp is the same in a replay).
    /// </summary>
    public (string Topic, int? Partition, Message<byte[], byte[]> Message) Route(ConsumeResult<byte[], byte[]> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_inputs.Label(record).TryGet(out var label, out var rejection))
        {
            _metrics?.Rejected(record.Topic, rejection.ReasonCode);
            _metrics?.DeadLetter(rejection.ReasonCode);
            var (key, value) = TaskState.DeadLetter(_codec, record, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs, InputRecords.TimestampOf(record) ?? 0);
            return (_topics.DeadLetter, null, new Message<byte[], byte[]> { Key = key, Value = value });
        }

        var id = Encoding.UTF8.GetBytes(label.EventId);
        var partitionBytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(partitionBytes, record.Partition.Value);
        var offsetBytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(offsetBytes, record.Offset.Value);
        var message = new Message<byte[], byte[]>
        {
            Key = id,
            Value = record.Message.Value,
            // The original timestamp: the join validates the label against the same timestamp and gets the same outcome.
            Timestamp = record.Message.Timestamp.Type == TimestampType.NotAvailable ? Timestamp.Default : new Timestamp(record.Message.Timestamp.UnixTimestampMs, TimestampType.CreateTime),
            Headers = [new Header(SourcePartitionHeader, partitionBytes), new Header(SourceOffsetHeader, offsetBytes)],
        };
        return (_topics.LabelsById, Murmur2.Partition(id, _topics.InputPartitions), message);
    }

    /// <summary>The source partition and offset a labels-by-id record carries; null for a record without them.</summary>
    public static (int Partition, long Offset)? SourceOf(ConsumeResult<byte[], byte[]> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var headers = record.Message.Headers;
        if (headers is null || !headers.TryGetLastBytes(SourcePartitionHeader, out var partition) || !headers.TryGetLastBytes(SourceOffsetHeader, out var offset)
            || partition.Length != 4 || offset.Length != 8)
        {
            return null;
        }

        return (BinaryPrimitives.ReadInt32BigEndian(partition), BinaryPrimitives.ReadInt64BigEndian(offset));
    }

    /// <summary>Runs the step until <paramref name="cancellationToken"/> is cancelled; fails on a failed delivery (the uncommitted labels are read again on restart).</summary>
    public void Run(LabelRepartitionSettings settings, KafkaOptions kafka, IProducer<byte[], byte[]> producer, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(logger);
        var config = KafkaClientConfig.Consumer(kafka, settings.GroupId, $"aggregator-labels-{Environment.ProcessId}");
        var next = new Dictionary<TopicPartition, long>();
        Error? failed = null;
        void Delivered(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
            {
                // Delivery reports come on the producer's poll thread.
                Interlocked.CompareExchange(ref failed, report.Error, null);
            }
        }

        void Confirm()
        {
            while (producer.Flush(TimeSpan.FromSeconds(10)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (Volatile.Read(ref failed) is { } error)
            {
                throw new KafkaException(error);
            }
        }

        // Committed only once every record produced before is confirmed: a crash re-produces, it never loses.
        void Commit(IConsumer<byte[], byte[]> consumer, IEnumerable<TopicPartition> partitions)
        {
            var offsets = partitions.Where(next.ContainsKey).Select(p => new TopicPartitionOffset(p, next[p])).ToList();
            if (offsets.Count == 0)
            {
                return;
            }

            Confirm();
            consumer.Commit(offsets);
            foreach (var offset in offsets)
            {
                next.Remove(offset.TopicPartition);
            }
        }

        var uncommitted = 0;
        long routed = 0;
        var lastCommit = DateTime.UtcNow;
        var assigned = new HashSet<TopicPartition>();
        var atEnd = new HashSet<TopicPartition>();
        var assignmentKnown = false;
        void Remove(IEnumerable<TopicPartition> partitions)
        {
            foreach (var partition in partitions)
            {
                assigned.Remove(partition);
                atEnd.Remove(partition);
                next.Remove(partition);
            }
        }

        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                _caughtUp = false;
                assignmentKnown = true;
                assigned.UnionWith(partitions);
                logger.LogInformation("Assigned labels partitions {Partitions} in {Group}", string.Join(",", partitions.Select(p => p.Partition.Value)), settings.GroupId);
            })
            .SetPartitionsRevokedHandler((c, partitions) =>
            {
                _caughtUp = false;
                var revoked = partitions.Select(p => p.TopicPartition).ToList();
                Commit(c, revoked);
                Remove(revoked);
            })
            .SetPartitionsLostHandler((_, partitions) =>
            {
                // Another member owns them now and starts from the last commit: what this one produced since is deduplicated by the join.
                _caughtUp = false;
                Remove(partitions.Select(p => p.TopicPartition));
            })
            .Build();
        consumer.Subscribe(_topics.Labels);
        while (!cancellationToken.IsCancellationRequested)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is { IsPartitionEOF: true })
            {
                atEnd.Add(record.TopicPartition);
            }
            else if (record is not null)
            {
                _caughtUp = false;
                atEnd.Remove(record.TopicPartition);
                settings.Progress?.Received();
                var (topic, partition, message) = Route(record);
                producer.Produce(partition is { } p ? new TopicPartition(topic, p) : new TopicPartition(topic, Partition.Any), message, Delivered);
                next[record.TopicPartition] = record.Offset.Value + 1;
                uncommitted++;
                routed++;
                settings.Progress?.Progressed();
            }

            if (uncommitted >= settings.CommitEveryRecords || (uncommitted > 0 && DateTime.UtcNow - lastCommit >= settings.CommitInterval))
            {
                Commit(consumer, next.Keys.ToList());
                uncommitted = 0;
                lastCommit = DateTime.UtcNow;
                settings.Progress?.ReportLag(ConsumerLag.Of(consumer));
            }

            if (!_caughtUp && assignmentKnown && atEnd.IsSupersetOf(assigned))
            {
                Confirm();
                _caughtUp = true;
                settings.Progress?.ReportLag(0);
                logger.LogInformation("Labels caught up in {Group}: {Records} labels repartitioned by this run", settings.GroupId, routed);
            }
        }

        Commit(consumer, next.Keys.ToList());
        consumer.Close();
    }
}
