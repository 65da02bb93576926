using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace StreamMonitor.Hosting;

/// <summary>Binds an options class to a configuration section and validates it when the host starts.</summary>
public static class ValidatedOptionsExtensions
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to <paramref name="sectionName"/>, validates its DataAnnotations (and
    /// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>, recursing into members marked
    /// <see cref="ValidateObjectMembersAttribute"/>) at start-up, and reports failures by configuration key, e.g.
    /// "Kafka:BootstrapServers is required", including a renamed key still set under its former name
    /// (<see cref="Contracts.RenamedFromAttribute"/>). Chain <c>.Validate(...)</c> on the result for further rules.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IHostApplicationBuilder builder, string sectionName)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Services.AddValidatedOptions<T>(builder.Configuration, sectionName);
    }

    /// <inheritdoc cref="AddValidatedOptions{T}(IHostApplicationBuilder, string)"/>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string sectionName)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(sectionName);
        var builder = services.AddOptions<T>()
            .Bind(configuration.GetSection(sectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new ConfigurationKeyValidator<T>(builder.Name, sectionName, configuration));
        return builder;
    }
}
