using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;

namespace StreamMonitor.Hosting;

/// <summary>
/// DataAnnotations validation whose messages name the configuration key ("Influx:BatchSize must be ..."), so an
/// operator knows which environment variable or flag to fix; a key that was renamed
/// (<see cref="RenamedFromAttribute"/>) and is still configured under its former name fails too, naming the new key.
/// </summary>
/// <typeparam name="T">Options class.</typeparam>
public sealed class ConfigurationKeyValidator<T> : IValidateOptions<T>
    where T : class
{
    private readonly string? _name;
    private readonly string _sectionName;
    private readonly IConfiguration? _configuration;

    /// <summary>
    /// Creates a validator for the named options instance bound to <paramref name="sectionName"/> of
    /// <paramref name="configuration"/> (the root; null: former keys are not checked).
    /// </summary>
    public ConfigurationKeyValidator(string? name, string sectionName, IConfiguration? configuration = null)
    {
        _name = name;
        _sectionName = sectionName;
        _configuration = configuration;
    }

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, T options)
    {
        if (_name is not null && name != _name)
        {
            return ValidateOptionsResult.Skip;
        }

        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Collect(options, _sectionName, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private void Collect(object instance, string path, List<string> failures)
    {
        var attributeFailures = failures.Count;
        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var nested = property.IsDefined(typeof(ValidateObjectMembersAttribute), inherit: true);
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true } || (property.SetMethod is not { IsPublic: true } && !nested))
            {
                // Computed properties are not configuration.
                continue;
            }

            var key = $"{path}:{property.Name}";
            var value = property.GetValue(instance);
            if (Renamed(property, path, value) is { } renamed)
            {
                failures.Add(renamed);
            }

            var context = new ValidationContext(instance) { MemberName = property.Name, DisplayName = property.Name };
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>(inherit: true))
            {
                if (attribute.GetValidationResult(value, context) is { } result)
                {
                    failures.Add(attribute is RequiredAttribute ? $"{key} is required" : $"{key} is invalid: {result.ErrorMessage} (value: {Display(value)})");
                }
            }

            if (value is not null && nested)
            {
                Collect(value, key, failures);
            }
        }

        // Like Validator.TryValidateObject: object-level rules run once the member rules pass.
        if (failures.Count == attributeFailures && instance is IValidatableObject validatable)
        {
            foreach (var result in validatable.Validate(new ValidationContext(instance)))
            {
                var members = result.MemberNames.ToList();
                failures.Add(members.Count == 0
                    ? $"{path} is invalid: {result.ErrorMessage}"
                    : $"{string.Join(", ", members.Select(m => $"{path}:{m}"))} {result.ErrorMessage}");
            }
        }
    }

    /// <summary>"Aggregator:GraceMs was renamed to Aggregator:Grace, a duration such as 5s" while the former key is set.</summary>
    private string? Renamed(PropertyInfo property, string path, object? value)
    {
        if (_configuration is null || property.GetCustomAttribute<RenamedFromAttribute>() is not { } renamed
            || _configuration[$"{path}:{renamed.FormerName}"] is not { } former)
        {
            return null;
        }

        // The example is the user's own value in the new notation where it converts, else the option's current value.
        var example = Durations.TryParse(former + renamed.FormerUnit, out var converted) ? converted
            : value is TimeSpan span ? span : TimeSpan.Zero;
        return $"{path}:{renamed.FormerName} was renamed to {path}:{property.Name}, a duration such as {Durations.Format(example)}";
    }

    private static string Display(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        TimeSpan span => Durations.Display(span),
        IEnumerable e => $"[{string.Join(", ", e.Cast<object?>())}]",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}
