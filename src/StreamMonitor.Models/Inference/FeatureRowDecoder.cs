using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using System.Text.Unicode;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>The identity of an event whose features <see cref="FeatureRowDecoder"/> wrote into an input row.</summary>
/// <param name="EventId">Event id (a valid identifier).</param>
/// <param name="EntityId">Entity id (valid or empty).</param>
/// <param name="EventTimeMs">Event time (plausible for its record timestamp).</param>
public readonly record struct DecodedRow(string EventId, string EntityId, long EventTimeMs);

/// <summary>
/// Decodes a FeatureEvent record's features straight into an input row of one model, by its input signature
/// (column order, float32 or float64), without building a <see cref="FeatureEvent"/>: its two dictionaries cost
/// about 3,400 managed bytes per event, and the validator then looked every column up in them again.
/// <para>
/// Only the common case is decoded here: a current-schema Avro record (as <see cref="FeatureEventDecoder"/> reads
/// it) of this model that the record policy and <see cref="FeatureValidator"/> would accept. For anything else (JSON,
/// another writer schema, a body error, an invalid identifier, an implausible event time, another model, a missing,
/// null, non-finite, out-of-range or unknown feature) it answers false and the caller takes the
/// <see cref="FeatureEvent"/> way (<see cref="FeatureEventDecoder"/>, <see cref="RecordPolicy"/>,
/// <see cref="FeatureValidator"/>), which gives the record its reason code and detail. So bad records are refused
/// exactly as before, by the same code, and a good one gets the row the validator would write: each key goes to
/// its column, the last of duplicate keys wins (as in the dictionary), values are converted the same way, and under
/// <see cref="NonFinitePolicy.ImputeMean"/> null and non-finite values become the training mean.
/// </para>
/// Thread-safe (no mutable state).
/// </summary>
public sealed class FeatureRowDecoder
{
    private const byte Unseen = 0;
    private const byte Good = 1;
    private const byte Bad = 2;
    private const int NotAColumn = -1;
    private const int NotUtf8 = -2;

    private readonly long _fingerprint;
    private readonly byte[] _modelName;
    private readonly byte[][] _names;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _columns;
    private readonly double[] _means;
    private readonly NonFinitePolicy _policy;
    private readonly bool _rejectExtraFeatures;
    private readonly EventTimePolicy _eventTime;

    /// <summary>Creates a decoder for <paramref name="session"/>'s model and input type, validating as <paramref name="validator"/> does and judging event times by <paramref name="eventTime"/>.</summary>
    public FeatureRowDecoder(ModelSession session, FeatureValidator validator, EventCodec codec, EventTimePolicy? eventTime = null)
        : this((session ?? throw new ArgumentNullException(nameof(session))).Model.Manifest, session.InputIsDouble, validator, codec, eventTime)
    {
    }

    /// <summary>Creates a decoder for <paramref name="manifest"/>'s input (float64 when <paramref name="inputIsDouble"/>), validating as <paramref name="validator"/> does and judging event times by <paramref name="eventTime"/>.</summary>
    public FeatureRowDecoder(ModelManifest manifest, bool inputIsDouble, FeatureValidator validator, EventCodec codec, EventTimePolicy? eventTime = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(codec);
        _fingerprint = EventSchemaCatalog.Fingerprint(codec.Catalog.ReaderSchemaOf<FeatureEvent>());
        _modelName = Encoding.UTF8.GetBytes(manifest.Name);
        _names = manifest.Features.Select(Encoding.UTF8.GetBytes).ToArray();
        var columns = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < manifest.Features.Count; j++)
        {
            columns.TryAdd(manifest.Features[j], j);
        }

        _columns = columns.GetAlternateLookup<ReadOnlySpan<char>>();
        _means = manifest.FeatureMeans.ToArray();
        _policy = validator.Policy;
        _rejectExtraFeatures = validator.RejectExtraFeatures;
        _eventTime = eventTime ?? EventTimePolicy.Default;
        Width = manifest.Features.Count;
        InputIsDouble = inputIsDouble;
        // Off (every record takes the FeatureEvent way) where this decoder could not match that way's answer: another
        // FeatureEvent schema, a model name the record policy refuses, a feature named twice in the manifest, or no
        // features at all (an empty row could not be told from no row).
        IsFastPath = new FeatureEventDecoder(codec).IsFastPath && Identifiers.CheckModel("model_name", manifest.Name) is null
            && columns.Count == manifest.Features.Count && Width > 0
            && (_policy == NonFinitePolicy.Reject || _means.Length == Width);
    }

    /// <summary>Whether records are decoded into rows at all (false: <see cref="TryDecode(ReadOnlySpan{byte}, long?, Span{float}, out DecodedRow)"/> always answers false).</summary>
    public bool IsFastPath { get; }

    /// <summary>Features per row.</summary>
    public int Width { get; }

    /// <summary>Whether the model's input is float64 (rows are then decoded into <see cref="Span{T}"/> of double).</summary>
    public bool InputIsDouble { get; }

    /// <summary>
    /// Decodes a valid event of this model into a float32 <paramref name="row"/> (<see cref="Width"/> values); false
    /// when the record must take the FeatureEvent way (the row then holds anything).
    /// </summary>
    public bool TryDecode(ReadOnlySpan<byte> data, long? recordTimestampMs, Span<float> row, out DecodedRow decoded) =>
        Decode(data, recordTimestampMs, row, out decoded);

    /// <summary>Decodes a valid event of this model into a float64 <paramref name="row"/>; false when the record must take the FeatureEvent way.</summary>
    public bool TryDecode(ReadOnlySpan<byte> data, long? recordTimestampMs, Span<double> row, out DecodedRow decoded) =>
        Decode(data, recordTimestampMs, row, out decoded);

    private bool Decode<T>(ReadOnlySpan<byte> data, long? recordTimestampMs, Span<T> row, out DecodedRow decoded)
        where T : struct, IFloatingPointIeee754<T>
    {
        decoded = default;
        if (!IsFastPath || row.Length != Width || data.Length < EventCodec.HeaderLength || data[0] != 0xC3 || data[1] != 0x01
            || BinaryPrimitives.ReadInt64LittleEndian(data[2..EventCodec.HeaderLength]) != _fingerprint)
        {
            return false;
        }

        // Per column: not seen yet, holding a valid value, or holding one the validator refuses (a later duplicate
        // key may still replace it, as it would in the dictionary).
        Span<byte> state = Width <= 1024 ? stackalloc byte[Width] : new byte[Width];
        state.Clear();
        try
        {
            var reader = new AvroBodyReader(data[EventCodec.HeaderLength..]);
            var eventId = reader.String();
            if (!reader.Utf8Bytes().SequenceEqual(_modelName))
            {
                return false;
            }

            var entityId = reader.String();
            var eventTimeMs = reader.Long();
            var unknownFeature = false;
            var next = 0;
            for (var count = reader.BlockCount(); count != 0; count = reader.BlockCount())
            {
                for (long i = 0; i < count; i++)
                {
                    var key = reader.Utf8Bytes();
                    var isNull = reader.UnionIndex() == 0;
                    var value = isNull ? 0 : reader.Double();
                    var j = Column(key, next);
                    if (j == NotUtf8)
                    {
                        return false;
                    }

                    if (j == NotAColumn)
                    {
                        unknownFeature = true;
                        continue;
                    }

                    state[j] = Put(row, j, isNull, value) ? Good : Bad;
                    next = j + 1;
                }
            }

            // Categorical values are never inputs, but a record whose strings are not UTF-8 is corrupt.
            for (var count = reader.BlockCount(); count != 0; count = reader.BlockCount())
            {
                for (long i = 0; i < count; i++)
                {
                    if (!Utf8.IsValid(reader.Utf8Bytes()) || (reader.UnionIndex() == 1 && !Utf8.IsValid(reader.Utf8Bytes())))
                    {
                        return false;
                    }
                }
            }

            if (reader.Remaining != 0 || state.ContainsAnyExcept(Good) || (unknownFeature && _rejectExtraFeatures)
                || Identifiers.Check("event_id", eventId) is not null || Identifiers.Check("entity_id", entityId, required: false) is not null
                || _eventTime.Check("event_time_ms", eventTimeMs, recordTimestampMs) is not null)
            {
                return false;
            }

            decoded = new DecodedRow(eventId, entityId, eventTimeMs);
            return true;
        }
        catch (EventDecodeException)
        {
            return false;
        }
    }

    /// <summary>The column of a feature name: the expected next one first (producers write the model's order), else by lookup.</summary>
    private int Column(ReadOnlySpan<byte> key, int next)
    {
        if (next < _names.Length && key.SequenceEqual(_names[next]))
        {
            return next;
        }

        if (!Utf8.IsValid(key))
        {
            return NotUtf8;
        }

        if (key.Length > 256)
        {
            // Longer than any identifier; decoded to a string rather than on the stack.
            return _columns.TryGetValue(Encoding.UTF8.GetString(key), out var far) ? far : NotAColumn;
        }

        Span<char> chars = stackalloc char[key.Length];
        var length = Encoding.UTF8.GetChars(key, chars);
        return _columns.TryGetValue(chars[..length], out var column) ? column : NotAColumn;
    }

    /// <summary>Writes a value into column <paramref name="j"/> as <see cref="FeatureValidator"/> does; false where it would refuse the event.</summary>
    private bool Put<T>(Span<T> row, int j, bool isNull, double value)
        where T : struct, IFloatingPointIeee754<T>
    {
        if (isNull || !double.IsFinite(value))
        {
            if (_policy == NonFinitePolicy.Reject)
            {
                return false;
            }

            row[j] = T.CreateTruncating(_means[j]);
            return true;
        }

        var x = T.CreateTruncating(value);
        if (!T.IsFinite(x))
        {
            return false;
        }

        row[j] = x;
        return true;
    }
}
