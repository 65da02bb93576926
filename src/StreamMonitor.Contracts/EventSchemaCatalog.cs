using System.Collections.Frozen;
using System.Reflection;
using Avro;

namespace StreamMonitor.Contracts;

/// <summary>
/// The writer schemas a process can decode, indexed by their CRC-64-AVRO fingerprint, and the reader schema of each
/// event type. Built-in schemas come from schemas/*.avsc (embedded), earlier versions from schemas/history/*.avsc; other versions are added at construction,
/// so schema evolution needs no registry service.
/// </summary>
public sealed class EventSchemaCatalog
{
    /// <summary>Avro namespace of every StreamMonitor event.</summary>
    public const string Namespace = "io.streammonitor";

    private readonly FrozenDictionary<long, RecordSchema> _byFingerprint;
    private readonly FrozenDictionary<string, RecordSchema> _readerByFullName;

    /// <summary>Creates a catalog of the built-in schemas plus <paramref name="additionalWriterSchemas"/>.</summary>
    public EventSchemaCatalog(IEnumerable<Schema>? additionalWriterSchemas = null)
    {
        var builtIn = LoadEmbeddedSchemas("schemas/");
        var byFingerprint = new Dictionary<long, RecordSchema>();
        foreach (var schema in LoadEmbeddedSchemas("schemas/history/").Concat(builtIn).Concat(additionalWriterSchemas?.Cast<RecordSchema>() ?? []))
        {
            byFingerprint[Fingerprint(schema)] = schema;
        }

        _byFingerprint = byFingerprint.ToFrozenDictionary();
        _readerByFullName = builtIn.ToFrozenDictionary(s => s.Fullname, StringComparer.Ordinal);
    }

    /// <summary>All built-in (current) schemas.</summary>
    public IEnumerable<RecordSchema> CurrentSchemas => _readerByFullName.Values;

    /// <summary>The current schema of event type <typeparamref name="T"/> (a class in this assembly named like its record).</summary>
    public RecordSchema ReaderSchemaOf<T>() => ReaderSchemaOf(typeof(T));

    /// <summary>The current schema of an event type.</summary>
    public RecordSchema ReaderSchemaOf(Type eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        return _readerByFullName.TryGetValue($"{Namespace}.{eventType.Name}", out var schema)
            ? schema
            : throw new ArgumentException($"No schema named {Namespace}.{eventType.Name} is embedded.", nameof(eventType));
    }

    /// <summary>Finds a writer schema by fingerprint.</summary>
    public bool TryGetWriterSchema(long fingerprint, out RecordSchema schema) =>
        _byFingerprint.TryGetValue(fingerprint, out schema!);

    /// <summary>CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form (Avro specification).</summary>
    public static long Fingerprint(Schema schema) => SchemaNormalization.ParsingFingerprint64(schema);

    /// <summary>The embedded schemas directly under <paramref name="folder"/> (current ones, or earlier versions under "schemas/history/").</summary>
    private static List<RecordSchema> LoadEmbeddedSchemas(string folder)
    {
        var assembly = typeof(EventSchemaCatalog).Assembly;
        var schemas = new List<RecordSchema>();
        foreach (var name in assembly.GetManifestResourceNames()
                     .Where(n => n.StartsWith(folder, StringComparison.Ordinal) && n.EndsWith(".avsc", StringComparison.Ordinal) && n.IndexOf('/', folder.Length) < 0)
                     .Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"Embedded schema {name} cannot be read.");
            using var reader = new StreamReader(stream);
            schemas.Add((RecordSchema)Schema.Parse(reader.ReadToEnd()));
        }

        return schemas;
    }
}
