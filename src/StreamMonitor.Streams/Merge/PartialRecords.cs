using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Streams;

/// <summary>A partial window result of one source partition, or a source's watermark, as read from the partials topic.</summary>
/// <param name="Source">"topic:partition" of the input partition that produced it.</param>
/// <param name="Window">The window (null for a watermark).</param>
/// <param name="Final">True when the source closed the window on its own stream time; false for an idle flush.</param>
/// <param name="State">Encoded aggregate (empty for a watermark).</param>
/// <param name="StreamTimeMs">The source's stream time (watermarks only).</param>
/// <param name="Idle">Watermarks only: the source had consumed all of its input when it sent this (caught up, behind
/// the process's watermark by the idle timeout), so nothing more is coming from it for now.</param>
public sealed record PartialRecord(string Source, WindowKey? Window, bool Final, byte[] State, long StreamTimeMs, bool Idle = false);

/// <summary>
/// Wire format of the internal window-partials topic. Key: "{WindowKey}|{source}" for a partial (deterministic, so a
/// re-emitted partial overwrites on the compacted topic) or "watermark|{source}". Value: a <see cref="Codec"/> record.
/// </summary>
public static class PartialRecords
{
    /// <summary>
    /// The value format: version byte, type byte (1 partial, 2 watermark, 3 idle watermark), source, then window, final
    /// flag and length-prefixed state bytes, or the stream time. The state bytes are the topology's pane codec record,
    /// opaque here. Partials always led with version 1, so every record on the topic is a record of this codec.
    /// </summary>
    public static IStateCodec<PartialRecord> Codec { get; } = new Format();

    /// <summary>Source id of an input partition.</summary>
    public static string SourceOf(string topic, int partition) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{topic}:{partition}");

    /// <summary>Key of a partial: all partials of one window share the window's partition of the partials topic.</summary>
    public static byte[] PartialKey(WindowKey window, string source) => Encoding.UTF8.GetBytes(window + "|" + source);

    /// <summary>The key that decides the partials-topic partition of a window (the window key itself).</summary>
    public static byte[] RoutingKey(WindowKey window) => Encoding.UTF8.GetBytes(window.ToString());

    /// <summary>Key of a watermark.</summary>
    public static byte[] WatermarkKey(string source) => Encoding.UTF8.GetBytes("watermark|" + source);

    /// <summary>Value of a partial.</summary>
    public static byte[] PartialValue(WindowKey window, string source, bool final, byte[] state) => Codec.Encode(new PartialRecord(source, window, final, state, 0));

    /// <summary>Value of a watermark; <paramref name="idle"/>: the source has consumed all of its input for now.</summary>
    public static byte[] WatermarkValue(string source, long streamTimeMs, bool idle = false) => Codec.Encode(new PartialRecord(source, null, false, [], streamTimeMs, idle));

    /// <summary>Parses a value; throws <see cref="InvalidDataException"/> on anything else.</summary>
    public static PartialRecord Parse(byte[] value)
    {
        try
        {
            return Codec.Decode(value);
        }
        catch (Exception ex) when (ex is FormatException or IOException)
        {
            throw new InvalidDataException("Malformed partial record: " + ex.Message, ex);
        }
    }

    private sealed class Format : IStateCodec<PartialRecord>
    {
        private const byte PartialType = 1;
        private const byte WatermarkType = 2;
        private const byte IdleWatermarkType = 3;

        public byte Version => 1;

        public void Write(BinaryWriter writer, PartialRecord value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            if (value.Window is { } window)
            {
                writer.Write(PartialType);
                writer.Write(value.Source);
                writer.Write(window.ToString());
                writer.Write(value.Final);
                writer.Write(value.State.Length);
                writer.Write(value.State);
            }
            else
            {
                writer.Write(value.Idle ? IdleWatermarkType : WatermarkType);
                writer.Write(value.Source);
                writer.Write(value.StreamTimeMs);
            }
        }

        public PartialRecord Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var type = reader.ReadByte();
            var source = reader.ReadString();
            switch (type)
            {
                case PartialType:
                    var window = WindowKey.Parse(reader.ReadString());
                    var final = reader.ReadBoolean();
                    var length = reader.ReadInt32();
                    var state = length < 0 ? [] : reader.ReadBytes(length);
                    if (state.Length != length)
                    {
                        throw new InvalidDataException("Truncated partial state.");
                    }

                    return new PartialRecord(source, window, final, state, 0);
                case WatermarkType or IdleWatermarkType:
                    return new PartialRecord(source, null, false, [], reader.ReadInt64(), type == IdleWatermarkType);
                default:
                    throw new InvalidDataException($"Unknown partial record type {type}.");
            }
        }
    }
}
