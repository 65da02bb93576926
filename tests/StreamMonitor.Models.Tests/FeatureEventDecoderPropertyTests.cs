using FsCheck.Xunit;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Tests;

/// <summary>
/// The scorer's reflection-free decoder against the codec on arbitrary input: it never throws anything but a
/// decode rejection, refuses exactly what the codec refuses (with the same reason), and reads what the codec reads.
/// </summary>
public sealed class FeatureEventDecoderPropertyTests
{
    private static readonly EventCodec Codec = new();
    private static readonly FeatureEventDecoder Decoder = new(Codec);

    private static bool AgreesWithTheCodec(byte[] bytes)
    {
        var fast = Decoder.TryDecode(bytes, out var decoded, out var fastError);
        var slow = Codec.TryDeserialize<FeatureEvent>(bytes, out var reference, out var slowError);
        if (fast != slow)
        {
            return false;
        }

        if (!fast)
        {
            return fastError!.ReasonCode == slowError!.ReasonCode && ReasonCodes.All.ContainsKey(fastError.ReasonCode);
        }

        return decoded!.EventId == reference!.EventId && decoded.ModelName == reference.ModelName && decoded.EntityId == reference.EntityId
               && decoded.EventTimeMs == reference.EventTimeMs && decoded.Features.Count == reference.Features.Count
               && decoded.Categorical.Count == reference.Categorical.Count;
    }

    [Property(MaxTest = 500)]
    public bool Arbitrary_bytes_behind_the_current_header_decode_as_the_codec_decodes_them(byte[] body)
    {
        var header = Codec.Serialize(new FeatureEvent())[..EventCodec.HeaderLength];
        return AgreesWithTheCodec([.. header, .. body ?? []]);
    }

    [Property(MaxTest = 300)]
    public bool Arbitrary_valid_events_decode_exactly_and_their_mutations_never_throw(string id, string model, long time, double value, string category, int position, byte flip)
    {
        var bytes = Codec.Serialize(new FeatureEvent
        {
            EventId = id ?? "",
            ModelName = model ?? "",
            EventTimeMs = time,
            Features = new() { ["x"] = value, ["y"] = null },
            Categorical = new() { ["c"] = category },
        });
        var mutated = (byte[])bytes.Clone();
        mutated[EventCodec.HeaderLength + (int)((uint)position % (uint)(mutated.Length - EventCodec.HeaderLength))] ^= flip;
        return AgreesWithTheCodec(bytes) && AgreesWithTheCodec(mutated) && AgreesWithTheCodec(bytes[..(int)((uint)position % (uint)bytes.Length)]);
    }
}
