using Confluent.Kafka;
using StreamMonitor.Analytics;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Time;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Streams;

/// <summary>What a stage-A topology contributes: how to read a record and how to encode its aggregate.</summary>
public interface IStageTopology<TAgg>
    where TAgg : class, IMergeable<TAgg>
{
    /// <summary>Kind of the results.</summary>
    WindowKind Kind { get; }

    /// <summary>A new, empty aggregate.</summary>
    TAgg Create();

    /// <summary>
    /// The aggregate's format: panes in checkpoints and the state of partials are records of it (version byte first).
    /// It must read what earlier releases stored there as well.
    /// </summary>
    IStateCodec<TAgg> Codec { get; }

    /// <summary>
    /// Reads a consumed record through the record policy (against the record's Kafka
    /// timestamp). Null when it is valid, with the grouping key ("model|version"; empty for a valid record this topology
    /// does not aggregate, which only advances its stream time), event time and the update to apply; otherwise the
    /// rejection, and the record touches no stream time.
    /// </summary>
    Rejection? TryRead(ConsumeResult<byte[], byte[]> record, out string key, out long eventTimeMs, out Action<TAgg> update);

    /// <summary>
    /// False for a topology that shares its input partitions with another one that already routes rejected and late
    /// records: it neither dead-letters, counts nor late-routes them (so a record is routed once).
    /// </summary>
    bool RoutesBadRecords => true;

    /// <summary>
    /// When this topology routes bad records: true to dead-letter a rejected record, false to only count it (its topic
    /// is read by a service that dead-letters it already, as the scorer does with feature events).
    /// </summary>
    bool DeadLettersRejected => true;

    /// <summary>
    /// Appended to the input topic in this topology's source ids ("topic{suffix}:partition"), so two topologies on one
    /// partition publish separate watermarks: each one's partials precede its own watermark in the merge.
    /// </summary>
    string SourceSuffix => "";
}

/// <summary>Stage-level settings shared by the topologies.</summary>
/// <param name="Specs">Window specs.</param>
/// <param name="GraceMs">Grace after a window's end.</param>
/// <param name="IdleTimeoutMs">Idle rule (event time).</param>
/// <param name="Topics">Topic names.</param>
/// <param name="Metrics">Where the tasks report late records, dead letters and emitted partials (optional).</param>
public sealed record StageSettings(IReadOnlyList<WindowSpec> Specs, long GraceMs, long IdleTimeoutMs, StreamMonitor.Kafka.TopicCatalog Topics, ITaskMetrics? Metrics = null);

/// <summary>
/// Stage A of a topology for one input partition: windows the partition's records, routes late and malformed records,
/// and emits one partial per (key, window) when the window closes on this partition's stream time (or provisionally
/// on an idle flush), plus its watermark (stream time) to every partials partition whenever a window boundary passes.
/// When it is offered an idle flush (its partition is caught up) while behind the process's watermark by the idle
/// timeout, it also announces itself idle (an idle watermark), and un-announces it before its next record.
/// </summary>
public sealed class WindowStageTask<TAgg> : IPartitionTask
    where TAgg : class, IMergeable<TAgg>
{
    // Version 1: the table as a record (version byte first), then the counters; version 0 (no header) stored the table
    // without its version byte.
    private const byte StateVersion = 1;
    private readonly IStageTopology<TAgg> _topology;
    private readonly StageSettings _settings;
    private readonly TopicPartition _source;
    private readonly string _sourceId;
    private readonly WindowedTable<TAgg> _table;
    private readonly IStateCodec<WindowedTable<TAgg>> _tableCodec;
    private readonly List<WindowResult<TAgg>> _closed = [];
    private readonly EventCodec _codec;
    private readonly long _boundaryUnit;
    private readonly IdleRule _idleRule;
    private long _lastWatermarkBoundary = long.MinValue;
    private bool _idleAnnounced;

    /// <summary>Creates or restores the task.</summary>
    public WindowStageTask(IStageTopology<TAgg> topology, StageSettings settings, TopicPartition source, byte[]? state, EventCodec codec)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(source);
        _topology = topology;
        _settings = settings;
        _source = source;
        _sourceId = PartialRecords.SourceOf(source.Topic + topology.SourceSuffix, source.Partition.Value);
        _codec = codec;
        _tableCodec = WindowedTable<TAgg>.Codec(() => new WindowedTable<TAgg>(settings.Specs, settings.GraceMs, topology.Create), topology.Codec);
        _boundaryUnit = settings.Specs.Min(s => s.AdvanceMs);
        _idleRule = new IdleRule(settings.IdleTimeoutMs);
        WindowedTable<TAgg>? restored = null;
        if (state is not null)
        {
            TaskState.Decode(state, StateVersion, (reader, version) =>
            {
                restored = version == 0 ? _tableCodec.Read(reader, 0) : _tableCodec.ReadVersioned(reader);
                Late = reader.ReadInt64();
                Malformed = reader.ReadInt64();
            });
        }

        _table = restored ?? new WindowedTable<TAgg>(settings.Specs, settings.GraceMs, topology.Create);
    }

    /// <inheritdoc />
    public long StreamTime => _table.StreamTime;

    /// <summary>Records routed to the late-events topic (one per late window spec).</summary>
    public long Late { get; private set; }

    /// <summary>Records this topology rejected and routed (dead-lettered, or only counted; see <see cref="IStageTopology{TAgg}.DeadLettersRejected"/>).</summary>
    public long Malformed { get; private set; }

    /// <summary>The window table (tests and memory accounting).</summary>
    public WindowedTable<TAgg> Table => _table;

    /// <inheritdoc />
    public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(output);
        if (_idleAnnounced)
        {
            // Before anything this record causes: the merge must not take this source for idle any longer.
            _idleAnnounced = false;
            SendWatermark(output, idle: false);
        }

        if (_topology.TryRead(record, out var key, out var eventTime, out var update) is { } rejection)
        {
            // Before any stream time: an implausible event time must never move this partition's windows.
            if (_topology.RoutesBadRecords)
            {
                Malformed++;
                _settings.Metrics?.Rejected(record.Topic, rejection.ReasonCode);
                if (_topology.DeadLettersRejected)
                {
                    SendDeadLetter(output, _settings.Topics.DeadLetter, record, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
                }
            }

            return;
        }

        if (key.Length == 0)
        {
            // A valid record this topology does not aggregate still advances its stream time, so its watermark keeps pace.
            _table.AdvanceTo(eventTime, _closed);
            EmitClosed(output);
            return;
        }

        var lateMask = _table.Add(key, eventTime, update, OnLate, _closed);
        if (lateMask != 0 && _topology.RoutesBadRecords)
        {
            var specs = string.Join(",", Enumerable.Range(0, _settings.Specs.Count).Where(i => (lateMask & (1 << i)) != 0).Select(i => _settings.Specs[i].Label));
            Late++;
            _settings.Metrics?.Late(record.Topic);
            SendDeadLetter(output, _settings.Topics.LateEvents, record, ReasonCodes.Late, $"Event time {eventTime} is past the close (end + grace {_settings.GraceMs} ms) of its {specs} window(s); stream time {_table.StreamTime}.", eventTime);
        }

        EmitClosed(output);
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        var goingIdle = !_idleAnnounced && _idleRule.IsIdle(_table.StreamTime, watermarkMs);

        // Going idle flushes every open window: once the merge takes this source for idle it may drop windows this
        // source is behind on, so all that this source holds must be there first.
        _table.FlushIdle(goingIdle ? long.MaxValue : watermarkMs, goingIdle ? 0 : _settings.IdleTimeoutMs, _closed);
        EmitClosed(output);
        if (goingIdle)
        {
            // After the flushed partials, on the same partitions: the merge sees them before it sees this source idle.
            _idleAnnounced = true;
            SendWatermark(output, idle: true);
        }
    }

    /// <inheritdoc />
    public byte[] Snapshot() => TaskState.Encode(StateVersion, writer =>
    {
        _tableCodec.WriteVersioned(writer, _table);
        writer.Write(Late);
        writer.Write(Malformed);
    });

    private static void OnLate(TAgg aggregate)
    {
        if (aggregate is ILateCounting counting)
        {
            counting.LateCount++;
        }
    }

    private void EmitClosed(ITaskOutput output)
    {
        foreach (var window in _closed)
        {
            var key = ModelKey.Parse(window.Key).Window(_topology.Kind, window.Window.StartMs, window.Window.SizeMs);
            var partition = Murmur2.Partition(PartialRecords.RoutingKey(key), _settings.Topics.ResultPartitions);
            output.Send(_settings.Topics.WindowPartials, partition, PartialRecords.PartialKey(key, _sourceId), PartialRecords.PartialValue(key, _sourceId, window.Final, _topology.Codec.Encode(window.State)));
            _settings.Metrics?.PartialEmitted(_topology.Kind, window.Final);
        }

        _closed.Clear();
        var boundary = _table.StreamTime == long.MinValue ? long.MinValue : WindowSpec.FloorTo(Saturating.Subtract(_table.StreamTime, _settings.GraceMs), _boundaryUnit);
        if (boundary > _lastWatermarkBoundary)
        {
            _lastWatermarkBoundary = boundary;
            SendWatermark(output, idle: false);
        }
    }

    private void SendWatermark(ITaskOutput output, bool idle)
    {
        var key = PartialRecords.WatermarkKey(_sourceId);
        var value = PartialRecords.WatermarkValue(_sourceId, _table.StreamTime, idle);
        for (var p = 0; p < _settings.Topics.ResultPartitions; p++)
        {
            output.Send(_settings.Topics.WindowPartials, p, key, value);
        }
    }

    private void SendDeadLetter(ITaskOutput output, string topic, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTime)
    {
        var (key, value) = TaskState.DeadLetter(_codec, record, code, reason, eventTime, _table.StreamTime);
        output.Send(topic, null, key, value);
        if (topic == _settings.Topics.DeadLetter)
        {
            _settings.Metrics?.DeadLetter(code);
        }
    }
}
