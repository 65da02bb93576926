using System.Globalization;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Serialization;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Models.Batch;

/// <summary>
/// Feature events from tabular files. Every numeric column is a feature except the optional metadata columns
/// event_id, entity_id, model_name, event_time_ms and the label column (ignored). Rows without an event_id (or with
/// an empty one) get "&lt;file name&gt;-&lt;row&gt;"; without an event time, 0. Empty cells are null feature values.
/// Each row is validated as the streaming scorer validates an event (identifiers; the event time only against the
/// absolute range, as a file has no record timestamp); a refused row comes out as a refused <see cref="BatchInput"/>.
/// </summary>
public static class FileSources
{
    private static readonly RecordPolicy Policy = new(new EventCodec());

    /// <summary>Reads a CSV file with a header row, lazily.</summary>
    public static async IAsyncEnumerable<BatchInput> CsvAsync(string path, string modelName, string labelColumn = "label", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(path);
        var header = ((await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)) ?? "").Split(',').Select(c => c.Trim()).ToArray();
        var prefix = Path.GetFileNameWithoutExtension(path);
        var row = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            row++;
            var cells = line.Split(',');
            if (cells.Length != header.Length)
            {
                yield return BatchInput.Refused(ReasonCodes.DecodeCorruptBody, $"{path} row {row}: {cells.Length} cells, header has {header.Length}", $"{prefix}-{row}", 0, modelName);
                continue;
            }

            var featureEvent = new FeatureEvent { ModelName = modelName, EventId = $"{prefix}-{row}", EntityId = "" };
            string? error = null;
            for (var i = 0; i < header.Length; i++)
            {
                var name = header[i];
                var cell = cells[i].Trim();
                switch (name)
                {
                    case "event_id":
                        featureEvent.EventId = cell.Length == 0 ? featureEvent.EventId : cell;
                        break;
                    case "entity_id":
                        featureEvent.EntityId = cell;
                        break;
                    case "model_name":
                        featureEvent.ModelName = cell;
                        break;
                    case "event_time_ms":
                        if (long.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out var t))
                        {
                            featureEvent.EventTimeMs = t;
                        }
                        else if (cell.Length > 0)
                        {
                            error ??= $"{path} row {row}: event_time_ms = '{Identifiers.Printable(cell)}' is not an integer";
                        }

                        break;
                    default:
                        if (string.Equals(name, labelColumn, StringComparison.Ordinal))
                        {
                            break;
                        }

                        if (cell.Length == 0)
                        {
                            featureEvent.Features[name] = null;
                        }
                        else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        {
                            featureEvent.Features[name] = value;
                        }
                        else
                        {
                            error ??= $"{path} row {row}: column {Identifiers.Printable(name)} = '{Identifiers.Printable(cell)}' is not a number";
                        }

                        break;
                }
            }

            yield return Complete(featureEvent, error, $"{prefix}-{row}");
        }
    }

    /// <summary>Reads a Parquet file one row group at a time: numeric columns become features.</summary>
    public static async IAsyncEnumerable<BatchInput> ParquetAsync(string path, string modelName, string labelColumn = "label", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        int groups;
        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                groups = reader.RowGroupCount;
            }

            var prefix = Path.GetFileNameWithoutExtension(path);
            var row = 0;
            for (var g = 0; g < groups; g++)
            {
                stream.Position = 0;
                var result = await ParquetSerializer.DeserializeUntypedAsync(stream, null, g, cancellationToken).ConfigureAwait(false);
                foreach (var record in result.Data)
                {
                    row++;
                    var featureEvent = new FeatureEvent { ModelName = modelName, EventId = $"{prefix}-{row}", EntityId = "" };
                    string? error = null;
                    foreach (var (name, value) in record)
                    {
                        switch (name)
                        {
                            case "event_id":
                                featureEvent.EventId = value?.ToString() is { Length: > 0 } id ? id : featureEvent.EventId;
                                break;
                            case "entity_id":
                                featureEvent.EntityId = value?.ToString() ?? "";
                                break;
                            case "model_name":
                                featureEvent.ModelName = value?.ToString() ?? modelName;
                                break;
                            case "event_time_ms":
                                if (value is long or int or short)
                                {
                                    featureEvent.EventTimeMs = Convert.ToInt64(value, CultureInfo.InvariantCulture);
                                }
                                else if (value is not null)
                                {
                                    error ??= $"{path} row {row}: event_time_ms is a {value.GetType().Name}, not an integer";
                                }

                                break;
                            default:
                                if (string.Equals(name, labelColumn, StringComparison.Ordinal))
                                {
                                    break;
                                }

                                if (value is null)
                                {
                                    featureEvent.Features[name] = null;
                                }
                                else if (value is double or float or int or long or short or decimal)
                                {
                                    featureEvent.Features[name] = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                                }
                                else
                                {
                                    error ??= $"{path} row {row}: column {Identifiers.Printable(name)} has a non-numeric value";
                                }

                                break;
                        }
                    }

                    yield return Complete(featureEvent, error, $"{prefix}-{row}");
                }
            }
        }
    }

    /// <summary>
    /// A parsed row: refused when a cell did not parse, else validated (a file has no record timestamp). A valid row's
    /// event time stands in for the record time; a refused row's is 0, as its event time may be the defect.
    /// </summary>
    private static BatchInput Complete(FeatureEvent featureEvent, string? error, string rowId)
    {
        if (error is not null)
        {
            return BatchInput.Refused(ReasonCodes.DecodeCorruptBody, error, Identifiers.IsValid(featureEvent.EventId) ? featureEvent.EventId : rowId, 0, featureEvent.ModelName);
        }

        var input = BatchInput.Validate(Policy, featureEvent, null, rowId, 0);
        return input.Event is null ? input : input with { RecordTimeMs = featureEvent.EventTimeMs };
    }
}
