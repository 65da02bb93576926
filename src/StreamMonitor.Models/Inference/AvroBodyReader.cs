using System.Buffers.Binary;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// Avro binary reader over a record body with the checks of the codec's bounded decoder: a declared length or block
/// count larger than the bytes left is rejected before anything is allocated, and every error is a
/// <see cref="DecodeError.CorruptBody"/>. Shared by <see cref="FeatureEventDecoder"/> and <see cref="FeatureRowDecoder"/>
/// so both read the bytes by the same rules.
/// </summary>
internal ref struct AvroBodyReader(ReadOnlySpan<byte> body)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private int _position;

    public readonly int Remaining => _body.Length - _position;

    public static EventDecodeException Corrupt(string detail) =>
        new(DecodeError.CorruptBody, $"Body does not decode as FeatureEvent: {detail}");

    public long Long()
    {
        ulong raw = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _body.Length)
            {
                throw Corrupt("Needed 1 bytes, 0 left.");
            }

            var b = _body[_position++];
            if (shift == 63 && b > 1)
            {
                throw Corrupt("Varint longer than 64 bits.");
            }

            raw |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(raw >> 1) ^ -(long)(raw & 1);
            }
        }

        throw Corrupt("Varint longer than 10 bytes.");
    }

    /// <summary>Union branch of a ["null", T] value: 0 or 1, anything else is corrupt.</summary>
    public int UnionIndex() => Long() switch
    {
        0 => 0,
        1 => 1,
        var index => throw Corrupt($"Union index {index} is not a branch of [null, value]."),
    };

    public double Double()
    {
        if (Remaining < 8)
        {
            throw Corrupt($"Needed 8 bytes, {Remaining} left.");
        }

        var value = BinaryPrimitives.ReadDoubleLittleEndian(_body.Slice(_position, 8));
        _position += 8;
        return value;
    }

    /// <summary>The bytes of a string, not yet checked to be UTF-8.</summary>
    public ReadOnlySpan<byte> Utf8Bytes()
    {
        var length = Long();
        if (length < 0 || length > Remaining)
        {
            throw Corrupt($"Declared length {length} with {Remaining} bytes left.");
        }

        var bytes = _body.Slice(_position, (int)length);
        _position += (int)length;
        return bytes;
    }

    public string String()
    {
        var bytes = Utf8Bytes();
        try
        {
            return StrictUtf8.Encoding.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt($"String at byte {_position - bytes.Length} is not valid UTF-8.");
        }
    }

    /// <summary>Items in the next map block (0 ends the map); a negative count is followed by the block's byte size.</summary>
    public long BlockCount()
    {
        var count = Long();
        if (count < 0)
        {
            count = count == long.MinValue ? throw Corrupt("Invalid block count.") : -count;
            Long();
        }

        return count > Remaining ? throw Corrupt($"Block of {count} items with {Remaining} bytes left.") : count;
    }
}
