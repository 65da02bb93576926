using System.Text;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// Copies a ZipMap output (one map per row, class label to probability) into output rows: each key goes to the
/// column of the class name it equals, so the column order is the manifest's, whatever order the maps iterate in.
/// </summary>
internal sealed class ZipMapReader
{
    private readonly string _subject;
    private readonly IReadOnlyList<string> _names;
    private readonly long[] _intKeys = [];
    private readonly byte[][] _stringKeys = [];

    public ZipMapReader(ModelManifest manifest, bool stringKeys)
    {
        _subject = $"{manifest.Name} {manifest.Version}";
        _names = manifest.ClassNames;
        if (stringKeys)
        {
            _stringKeys = _names.Select(Encoding.UTF8.GetBytes).ToArray();
            return;
        }

        _intKeys = new long[_names.Count];
        for (var k = 0; k < _names.Count; k++)
        {
            if (!long.TryParse(_names[k], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _intKeys[k]))
            {
                throw new InvalidDataException($"{_subject}: the ZipMap output's keys are int64, but class name '{_names[k]}' is not an integer; model.json's class_names must be the keys.");
            }
        }
    }

    public void Read(OrtValue sequence, Span<float> output)
    {
        var width = _names.Count;
        var rows = sequence.GetValueCount();
        if (rows * width != output.Length)
        {
            throw new InvalidDataException($"{_subject}: the ZipMap output has {rows} maps for {output.Length / width} rows.");
        }

        var allocator = OrtAllocator.DefaultInstance;
        for (var r = 0; r < rows; r++)
        {
            using var map = sequence.GetValue(r, allocator);
            using var keys = map.GetValue(0, allocator);
            using var values = map.GetValue(1, allocator);
            var probabilities = values.GetTensorDataAsSpan<float>();
            if (probabilities.Length != width)
            {
                throw new InvalidDataException($"{_subject}: a ZipMap row has {probabilities.Length} classes, model.json lists {width} ({string.Join(',', _names)}).");
            }

            var row = output.Slice(r * width, width);
            for (var i = 0; i < width; i++)
            {
                var column = _stringKeys.Length > 0 ? IndexOf(keys.GetStringElementAsSpan(i)) : Array.IndexOf(_intKeys, keys.GetTensorDataAsSpan<long>()[i]);
                if (column < 0)
                {
                    var key = _stringKeys.Length > 0 ? keys.GetStringElement(i) : keys.GetTensorDataAsSpan<long>()[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                    throw new InvalidDataException($"{_subject}: the ZipMap output has class '{key}', which is not among model.json's class_names ({string.Join(',', _names)}).");
                }

                row[column] = probabilities[i];
            }
        }
    }

    private int IndexOf(ReadOnlySpan<byte> key)
    {
        for (var k = 0; k < _stringKeys.Length; k++)
        {
            if (key.SequenceEqual(_stringKeys[k]))
            {
                return k;
            }
        }

        return -1;
    }
}
