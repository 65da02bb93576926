using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Streams.Tests;

/// <summary>A <see cref="CountState"/> record: count, late, sum.</summary>
public sealed class CountCodec : IStateCodec<CountState>
{
    /// <summary>The one instance.</summary>
    public static CountCodec Instance { get; } = new();

    /// <inheritdoc />
    public byte Version => 1;

    /// <inheritdoc />
    public void Write(BinaryWriter writer, CountState value)
    {
        writer.Write(value.Count);
        writer.Write(value.Late);
        writer.Write(value.Sum);
    }

    /// <inheritdoc />
    public CountState Read(BinaryReader reader, byte version) => new() { Count = reader.ReadInt64(), Late = reader.ReadInt64(), Sum = reader.ReadInt64() };
}

/// <summary>
/// The Streams state formats: partial records, window-table snapshots and the task-state header. Records written by
/// earlier releases (captured below as hex from the former <c>PartialRecords.PartialValue</c>, <c>WatermarkValue</c> and
/// <c>WindowedTable.WriteTo</c>) still decode; the bytes written now are pinned; random values round-trip.
/// </summary>
public sealed class StateFormatTests
{
    /// <summary>A final partial of latency|m|1|60000|60000 from predictions:3 with state 01 02 03 (version 1, as ever).</summary>
    private const string PartialHex = "01010D70726564696374696F6E733A33176C6174656E63797C6D7C317C36303030307C36303030300103000000010203";

    /// <summary>A watermark of predictions:3 at 123456.</summary>
    private const string WatermarkHex = "01020D70726564696374696F6E733A3340E2010000000000";

    /// <summary>An idle watermark of predictions:3 before any record.</summary>
    private const string IdleWatermarkHex = "01030D70726564696374696F6E733A330000000000000080";

    /// <summary>
    /// A table snapshot as stored before task states had a header (no version byte): stream time 25000, closed through
    /// 22000, pane a|1 of spec 0 at 20000 (count 2, sum 7), pane b|1 of spec 1 at 10000 (count 1, late 1, sum 3).
    /// </summary>
    private const string TableHex =
        "A861000000000000F0550000000000000200000003617C3100000000204E0000000000000102000000000000000000000000000000070000000000"
        + "000003627C3101000000102700000000000001010000000000000001000000000000000300000000000000";

    private static readonly WindowSpec[] Specs = [new(10_000, 10_000), new(20_000, 10_000)];

    private static IStateCodec<WindowedTable<CountState>> TableCodec { get; } = WindowedTable<CountState>.Codec(() => new WindowedTable<CountState>(Specs, 2_000, () => new CountState()), CountCodec.Instance);

    [Fact]
    public void Partial_records_of_earlier_releases_decode_and_are_written_again_byte_for_byte()
    {
        var window = new WindowKey(WindowKind.Latency, "m", "1", 60_000, 60_000);
        var partial = PartialRecords.Parse(Convert.FromHexString(PartialHex));
        Assert.Equal(("predictions:3", window, true, "010203"), (partial.Source, partial.Window, partial.Final, Convert.ToHexString(partial.State)));
        Assert.Equal(PartialHex, Convert.ToHexString(PartialRecords.PartialValue(window, "predictions:3", true, [1, 2, 3])));

        var watermark = PartialRecords.Parse(Convert.FromHexString(WatermarkHex));
        Assert.Equal(("predictions:3", null, 123_456L, false), (watermark.Source, watermark.Window, watermark.StreamTimeMs, watermark.Idle));
        Assert.Equal(WatermarkHex, Convert.ToHexString(PartialRecords.WatermarkValue("predictions:3", 123_456)));

        var idle = PartialRecords.Parse(Convert.FromHexString(IdleWatermarkHex));
        Assert.Equal((long.MinValue, true), (idle.StreamTimeMs, idle.Idle));
        Assert.Equal(IdleWatermarkHex, Convert.ToHexString(PartialRecords.WatermarkValue("predictions:3", long.MinValue, idle: true)));
    }

    [Fact]
    public void Random_partial_records_round_trip()
    {
        var random = new Random(14);
        for (var i = 0; i < 200; i++)
        {
            var source = PartialRecords.SourceOf("t" + random.Next(100), random.Next(64));
            var record = random.Next(2) == 0
                ? new PartialRecord(source, new WindowKey((WindowKind)random.Next(3), "m" + random.Next(9), "v", random.NextInt64(), random.NextInt64(1, long.MaxValue)), random.Next(2) == 0, RandomBytes(random), 0)
                : new PartialRecord(source, null, false, [], random.NextInt64(long.MinValue, long.MaxValue), random.Next(2) == 0);
            var bytes = PartialRecords.Codec.Encode(record);
            var read = PartialRecords.Parse(bytes);
            Assert.Equal((record.Source, record.Window, record.Final, record.StreamTimeMs, record.Idle), (read.Source, read.Window, read.Final, read.StreamTimeMs, read.Idle));
            Assert.Equal(record.State, read.State);
            Assert.Equal(bytes, PartialRecords.Codec.Encode(read));
        }
    }

    [Fact]
    public void Malformed_partial_records_are_refused_as_invalid_data()
    {
        var partial = Convert.FromHexString(PartialHex);
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse(partial[..^1]));
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse([2, .. partial[1..]]));
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse([1, 9, .. partial[2..]]));
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse([.. partial[..^7], 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]));
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse([.. partial, 0]));
        Assert.Throws<InvalidDataException>(() => PartialRecords.Parse([1, 2, 0xFF]));
    }

    [Fact]
    public void Table_snapshots_without_a_version_byte_read_as_version_0_and_version_1_leads_them_with_it()
    {
        var legacy = Convert.FromHexString(TableHex);
        var table = TableCodec.Read(new BinaryReader(new MemoryStream(legacy)), 0);
        Assert.Equal((25_000L, 2), (table.StreamTime, table.PaneCount));
        Assert.Equal([(1L, 1L, 3L), (2L, 0L, 7L)], table.Panes.Select(p => (p.Count, p.Late, p.Sum)).Order());
        Assert.Equal("01" + TableHex, Convert.ToHexString(TableCodec.Encode(table)));
        Assert.Equal("01" + TableHex, Convert.ToHexString(TableCodec.Encode(TableCodec.Decode([1, .. legacy]))));

        var empty = TableCodec.Decode(TableCodec.Encode(new WindowedTable<CountState>(Specs, 2_000, () => new CountState())));
        Assert.Equal((long.MinValue, 0), (empty.StreamTime, empty.PaneCount));
    }

    [Fact]
    public void A_table_snapshot_naming_a_spec_that_is_not_configured_is_refused()
    {
        var record = Convert.FromHexString("01" + TableHex);
        record[1 + 8 + 8 + 4 + 4] = 2;
        Assert.Throws<InvalidDataException>(() => TableCodec.Decode(record));
        Assert.Throws<InvalidDataException>(() => TableCodec.Decode([2, .. record[1..]]));
    }

    [Fact]
    public void Task_states_carry_a_header_that_states_of_earlier_releases_never_begin_with()
    {
        var state = TaskState.Encode(1, writer => writer.Write(5));
        Assert.Equal("000000000000008001" + "05000000", Convert.ToHexString(state));
        Assert.Equal((1, 5), Read(state));

        // A window stage's state before its first record: stream time and closed-through time both long.MinValue.
        var legacy = Convert.FromHexString("0000000000000080" + "0000000000000080" + "00000000");
        byte version = 9;
        TaskState.Decode(legacy, 1, (reader, v) =>
        {
            version = v;
            Assert.Equal(0, reader.BaseStream.Position);
        });
        Assert.Equal(0, version);
        Assert.Equal((0, 5), Read([5, 0, 0, 0]));
        Assert.Throws<InvalidDataException>(() => TaskState.Decode(TaskState.Encode(2, _ => { }), 1, (_, _) => { }));

        static (byte Version, int Value) Read(byte[] state)
        {
            var result = ((byte)0, 0);
            TaskState.Decode(state, 1, (reader, v) => result = (v, reader.ReadInt32()));
            return result;
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(40)];
        random.NextBytes(bytes);
        return bytes;
    }
}
