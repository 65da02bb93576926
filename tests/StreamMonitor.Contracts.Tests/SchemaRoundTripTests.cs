using System.Collections;
using System.Reflection;
using System.Text.Json;
using Avro;
using Avro.Reflect;
using StreamMonitor.Contracts;

namespace StreamMonitor.Contracts.Tests;

/// <summary>Every schema parses, has a C# type whose fields match it one to one, and every event round-trips.</summary>
public sealed class SchemaRoundTripTests
{
    private static readonly EventCodec Codec = new();

    private static readonly Assembly Contracts = typeof(EventCodec).Assembly;

    public static TheoryData<string> SchemaNames()
    {
        var data = new TheoryData<string>();
        foreach (var schema in Codec.Catalog.CurrentSchemas.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            data.Add(schema.Name);
        }

        return data;
    }

    [Fact]
    public void Every_avsc_file_of_the_repository_is_embedded_and_parses()
    {
        var files = Directory.GetFiles(Path.Combine(Testing.StreammonCli.RepositoryRoot, "schemas"), "*.avsc");
        Assert.NotEmpty(files);
        var parsed = files.Select(f => (RecordSchema)Schema.Parse(File.ReadAllText(f))).ToList();
        Assert.Equal(parsed.Select(s => s.Fullname).Order(), Codec.Catalog.CurrentSchemas.Select(s => s.Fullname).Order());
        Assert.All(parsed, s => Assert.Equal(EventSchemaCatalog.Namespace, s.Namespace));
    }

    [Theory]
    [MemberData(nameof(SchemaNames))]
    public void Schema_fields_and_csharp_properties_match_one_to_one(string name)
    {
        var schema = Codec.Catalog.CurrentSchemas.Single(s => s.Name == name);
        AssertRecordMatches(schema, TypeOf(name));
    }

    [Theory]
    [MemberData(nameof(SchemaNames))]
    public void Event_with_every_optional_field_set_round_trips(string name) => AssertRoundTrip(TypeOf(name), optionalSet: true);

    [Theory]
    [MemberData(nameof(SchemaNames))]
    public void Event_with_every_optional_field_unset_round_trips(string name) => AssertRoundTrip(TypeOf(name), optionalSet: false);

    [Fact]
    public void Encoding_starts_with_the_single_object_marker_and_the_writer_fingerprint()
    {
        var bytes = Codec.Serialize(new Label { EventId = "e", Value = 1, LabelTimeMs = 2 });
        Assert.Equal([0xC3, 0x01], bytes[..2]);
        Assert.Equal(EventSchemaCatalog.Fingerprint(Codec.Catalog.ReaderSchemaOf<Label>()), EventCodec.ReadFingerprint(bytes));
    }

    private static Type TypeOf(string recordName) =>
        Contracts.GetType($"StreamMonitor.Contracts.{recordName}") ?? throw new InvalidOperationException($"No C# type for record {recordName}.");

    private static void AssertRoundTrip(Type type, bool optionalSet)
    {
        var value = Fill(type, optionalSet, seed: 1);
        var bytes = (byte[])typeof(SchemaRoundTripTests).GetMethod(nameof(Encode), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type).Invoke(null, [value])!;
        var decoded = typeof(SchemaRoundTripTests).GetMethod(nameof(Decode), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type).Invoke(null, [bytes])!;
        var again = (byte[])typeof(SchemaRoundTripTests).GetMethod(nameof(Encode), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type).Invoke(null, [decoded])!;
        Assert.Equal(JsonSerializer.Serialize(value, type), JsonSerializer.Serialize(decoded, type));
        Assert.Equal(bytes, again);
    }

    private static byte[] Encode<T>(T value)
        where T : class => Codec.Serialize(value);

    private static T Decode<T>(byte[] bytes)
        where T : class => Codec.Deserialize<T>(bytes);

    private static IEnumerable<PropertyInfo> AvroProperties(Type type) =>
        type.GetProperties().Where(p => p.GetCustomAttribute<AvroFieldAttribute>() is not null);

    private static void AssertRecordMatches(RecordSchema schema, Type type)
    {
        var properties = AvroProperties(type).ToDictionary(p => p.GetCustomAttribute<AvroFieldAttribute>()!.FieldName, StringComparer.Ordinal);
        Assert.Equal(schema.Fields.Select(f => f.Name).Order(StringComparer.Ordinal), properties.Keys.Order(StringComparer.Ordinal));
        foreach (var field in schema.Fields)
        {
            var propertyType = properties[field.Name].PropertyType;
            var fieldSchema = field.Schema is UnionSchema union ? union.Schemas.Single(s => s.Tag != Schema.Type.Null) : field.Schema;
            if (field.Schema is UnionSchema)
            {
                // An optional field must accept null in C# too, or a null on the wire would not round-trip.
                var nullable = !propertyType.IsValueType || Nullable.GetUnderlyingType(propertyType) is not null;
                Assert.True(nullable, $"{type.Name}.{properties[field.Name].Name} is optional in the schema but not nullable.");
            }

            switch (fieldSchema)
            {
                case RecordSchema nested:
                    AssertRecordMatches(nested, propertyType);
                    break;
                case ArraySchema { ItemSchema: RecordSchema item }:
                    AssertRecordMatches(item, propertyType.GetGenericArguments()[0]);
                    break;
                case EnumSchema enumSchema:
                    Assert.Equal(enumSchema.Symbols, Enum.GetNames(propertyType));
                    break;
            }
        }
    }

    /// <summary>An instance with every field set to a distinct non-default value; optional fields set or null.</summary>
    private static object Fill(Type type, bool optionalSet, int seed)
    {
        var instance = Activator.CreateInstance(type)!;
        var nullability = new NullabilityInfoContext();
        foreach (var property in AvroProperties(type))
        {
            var optional = Nullable.GetUnderlyingType(property.PropertyType) is not null
                || (!property.PropertyType.IsValueType && nullability.Create(property).WriteState == NullabilityState.Nullable);
            var info = nullability.Create(property);
            var mapValuesNullable = info.GenericTypeArguments.Length == 2 && info.GenericTypeArguments[1].ReadState == NullabilityState.Nullable;
            property.SetValue(instance, optional && !optionalSet ? null : ValueFor(property.PropertyType, optionalSet, ++seed * 7, mapValuesNullable));
        }

        return instance;
    }

    private static object ValueFor(Type type, bool optionalSet, int seed, bool mapValuesNullable = false)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            return $"text-{seed}-ü✓";
        }

        if (underlying == typeof(long))
        {
            return 1_700_000_000_000L + seed;
        }

        if (underlying == typeof(int))
        {
            return seed;
        }

        if (underlying == typeof(double))
        {
            return seed + 0.125;
        }

        if (underlying == typeof(bool))
        {
            return true;
        }

        if (underlying == typeof(byte[]))
        {
            return new byte[] { 0, 1, 2, (byte)seed, 255 };
        }

        if (underlying.IsEnum)
        {
            var values = Enum.GetValues(underlying);
            return values.GetValue(values.Length - 1)!;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(List<>))
        {
            var list = (IList)Activator.CreateInstance(underlying)!;
            list.Add(ValueFor(underlying.GetGenericArguments()[0], optionalSet, seed + 1));
            list.Add(ValueFor(underlying.GetGenericArguments()[0], optionalSet, seed + 2));
            return list;
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var map = (IDictionary)Activator.CreateInstance(underlying)!;
            var valueType = underlying.GetGenericArguments()[1];
            map["a"] = ValueFor(valueType, optionalSet, seed + 1);
            // A map whose values are optional carries a null too (a missing feature is data, not an absent key).
            map["b"] = mapValuesNullable && optionalSet ? null : ValueFor(valueType, optionalSet, seed + 2);
            return map;
        }

        if (underlying.IsClass)
        {
            return Fill(underlying, optionalSet, seed);
        }

        throw new NotSupportedException($"No sample value for {type}.");
    }
}
