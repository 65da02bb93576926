using System.Collections;
using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using StreamMonitor.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// docker-compose.yml cannot be started here (no Docker engine), so it is checked statically against the code: every
/// environment variable names a real configuration key of the service it is given to (reflected from the options
/// types), the effective configuration validates and points at the compose services rather than loopback, ports and
/// healthchecks agree with the services' HTTP ports, volumes and mounted paths exist, Chronograf gets the dashboards and
/// the database they query, Grafana gets its provisioned data source and dashboards, and every job runs a real CLI verb.
/// </summary>
public sealed partial class DockerComposeTests
{
    /// <summary>The services built from this repository; scorer-gpu (profile gpu) is the scorer's code built for CUDA.</summary>
    private static readonly string[] AppServices = ["scorer", "scorer-gpu", "aggregator", "alerter"];
    private static readonly Lazy<Compose> File_ = new(Compose.Load);

    private static Compose C => File_.Value;

    [Fact]
    public void Declares_kafka_influxdb_chronograf_grafana_the_three_services_and_topic_creation()
    {
        foreach (var name in (string[])["kafka", "influxdb", "chronograf", "grafana", "topics", .. AppServices])
        {
            Assert.True(C.Services.ContainsKey(name), $"service {name} missing");
        }

        var kafka = C.Env("kafka");
        Assert.Contains("controller", kafka["KAFKA_PROCESS_ROLES"], StringComparison.Ordinal);
        Assert.StartsWith("apache/kafka", C.Str(C.Services["kafka"], "image"), StringComparison.Ordinal);
        Assert.StartsWith("influxdb:1.8", C.Str(C.Services["influxdb"], "image"), StringComparison.Ordinal);
        Assert.Equal(["kafka", "topics"], C.Command("topics").Take(2));
        foreach (var (name, service) in C.Services)
        {
            foreach (var dependency in C.DependsOn(service))
            {
                Assert.True(C.Services.ContainsKey(dependency), $"{name} depends on unknown service {dependency}");
            }
        }
    }

    [Fact]
    public void Every_environment_variable_of_a_service_is_a_configuration_key_it_reads()
    {
        foreach (var service in AppServices)
        {
            var sections = Sections(service);
            foreach (var key in C.Env(service).Keys)
            {
                if (key is "Urls" || key.StartsWith("DOTNET_", StringComparison.Ordinal) || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || key.StartsWith("Logging__", StringComparison.Ordinal))
                {
                    continue;
                }

                var path = key.Split("__");
                var section = sections.SingleOrDefault(s => string.Equals(s.Name, path[0], StringComparison.OrdinalIgnoreCase));
                Assert.True(section is not null, $"{service}: {key} names section '{path[0]}', which the service does not read (it reads {string.Join(", ", sections.Select(s => s.Name))})");
                Assert.True(KeyExists(section!.Type, path[1..]), $"{service}: {key} is not a settable key of {section.Type.Name}");
            }
        }
    }

    [Fact]
    public void Effective_configuration_validates_and_reaches_the_compose_services_not_loopback()
    {
        // Bound as the services' host binds: durations such as "5ms" through the one TimeSpan converter.
        Durations.RegisterTimeSpanConverter();
        foreach (var service in AppServices)
        {
            var env = C.Env(service).ToDictionary(kv => kv.Key.Replace("__", ":", StringComparison.Ordinal), kv => (string?)kv.Value);
            var configuration = new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(ServiceDirectory(service), "appsettings.json"), optional: true)
                .AddInMemoryCollection(env)
                .Build();
            foreach (var section in Sections(service))
            {
                var options = Activator.CreateInstance(section.Type)!;
                configuration.GetSection(section.Name).Bind(options);
                var failures = new List<ValidationResult>();
                // Like the services' ValidateOnStart: attributes, then IValidatableObject once they pass.
                Validator.TryValidateObject(options, new ValidationContext(options), failures, validateAllProperties: true);

                Assert.True(failures.Count == 0, $"{service}: section {section.Name} does not validate: {string.Join("; ", failures.Select(f => f.ErrorMessage))}");
                foreach (var (key, value) in Strings(options, section.Name))
                {
                    Assert.False(value.Contains("127.0.0.1", StringComparison.Ordinal) || value.Contains("localhost", StringComparison.Ordinal),
                        $"{service}: {key} = {value} points at the container itself; set it in docker-compose.yml");
                }
            }

            foreach (var (key, value) in C.Env(service))
            {
                if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme.StartsWith("http", StringComparison.Ordinal) && key != "Urls")
                {
                    Assert.True(C.Services.ContainsKey(uri.Host), $"{service}: {key} points at host {uri.Host}, which is not a compose service");
                }
            }

            var bootstrap = ResolveDefault(C.Env(service)["Kafka__BootstrapServers"]);
            var (host, port) = (bootstrap.Split(':')[0], bootstrap.Split(':')[1]);
            Assert.True(C.Services.ContainsKey(host), $"{service}: Kafka bootstrap host {host} is not a compose service");
            Assert.Contains($":{port}", C.Env(host)["KAFKA_LISTENERS"], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ports_and_healthchecks_match_each_services_http_port()
    {
        var published = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in AppServices)
        {
            // The port the service passes to StreamMonitorHost.CreateBuilder(..., defaultPort: N), wherever it does.
            var sources = string.Join('\n', Directory.GetFiles(ServiceDirectory(service), "*.cs").Select(File.ReadAllText));
            var defaultPort = DefaultPort().Match(sources);
            Assert.True(defaultPort.Success, $"{service}: no defaultPort passed to StreamMonitorHost.CreateBuilder");
            var port = defaultPort.Groups[1].Value;
            Assert.Equal($"http://+:{port}", C.Env(service)["Urls"]);
            // The GPU scorer publishes the same container port on another host port, so both can be declared.
            Assert.Contains(C.List(C.Services[service], "ports"), p => p == $"{port}:{port}" || (service != Project(service) && p.EndsWith($":{port}", StringComparison.Ordinal)));
            var health = string.Join(' ', C.List((Dictionary<object, object>)C.Services[service]["healthcheck"], "test"));
            Assert.Contains($"http://localhost:{port}/healthz", health, StringComparison.Ordinal);
        }

        foreach (var (name, service) in C.Services)
        {
            foreach (var mapping in C.List(service, "ports"))
            {
                Assert.True(published.Add(mapping.Split(':')[0]), $"{name}: host port {mapping} is published twice");
            }
        }
    }

    [Fact]
    public void Volumes_exist_and_path_settings_lie_inside_what_is_mounted()
    {
        var declared = ((Dictionary<object, object>)C.Root["volumes"]).Keys.Cast<string>().ToHashSet(StringComparer.Ordinal);
        var writers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, service) in C.Services)
        {
            foreach (var volume in C.List(service, "volumes"))
            {
                var parts = volume.Split(':');
                if (parts[0].StartsWith('.'))
                {
                    Assert.True(Directory.Exists(Path.Combine(RepoPaths.Root, parts[0])) || File.Exists(Path.Combine(RepoPaths.Root, parts[0])), $"{name}: bind mount source {parts[0]} does not exist");
                }
                else
                {
                    Assert.True(declared.Contains(parts[0]), $"{name}: volume {parts[0]} is not declared");
                    if (parts.Length < 3 || parts[2] != "ro")
                    {
                        writers.Add(parts[0]);
                    }
                }
            }
        }

        foreach (var service in AppServices)
        {
            var mounts = C.List(C.Services[service], "volumes").Select(v => v.Split(':')).ToList();
            foreach (var (key, value) in C.Env(service).Where(kv => kv.Value.StartsWith('/')))
            {
                var mount = mounts.FirstOrDefault(m => value == m[1] || value.StartsWith(m[1] + "/", StringComparison.Ordinal));
                Assert.True(mount is not null, $"{service}: {key} = {value} is not inside a mounted volume");
                if (mount![0].StartsWith('.'))
                {
                    var local = Path.Combine(RepoPaths.Root, mount[0], value[mount[1].Length..].TrimStart('/'));
                    Assert.True(File.Exists(local) || Directory.Exists(local), $"{service}: {key} = {value} maps to {local}, which does not exist");
                }
                else
                {
                    Assert.True(writers.Contains(mount[0]), $"{service}: {key} reads volume {mount[0]}, which nothing writes");
                }
            }
        }
    }

    [Fact]
    public void Chronograf_gets_the_dashboards_and_the_database_they_query()
    {
        var chronograf = C.Services["chronograf"];
        var resources = C.Env("chronograf")["RESOURCES_PATH"];
        Assert.Contains($"./dashboards:{resources}:ro", C.List(chronograf, "volumes"));
        Assert.Equal("http://influxdb:8086", C.Env("chronograf")["INFLUXDB_URL"]);
        var paths = DashboardFiles.Paths();
        Assert.True(paths.Count >= 4, "expected the four dashboards");
        var databases = paths.SelectMany(p => DashboardFiles.Read(p).Queries)
            .Select(q => DatabaseInQuery().Match(q.Text))
            .Select(m => m.Success ? m.Groups[1].Value : "")
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(new HashSet<string>(StringComparer.Ordinal) { C.Env("influxdb")["INFLUXDB_DB"] }, databases);
        foreach (var service in new[] { "aggregator", "alerter" })
        {
            Assert.Equal(C.Env("influxdb")["INFLUXDB_DB"], C.Env(service)["Influx__Database"]);
            Assert.Equal("http://influxdb:8086", C.Env(service)["Influx__Url"]);
        }
    }

    [Fact]
    public void Grafana_gets_the_provisioned_data_mountedand_the_dashboards_where_its_provider_looks()
    {
        var grafana = C.Services["grafana"];
        Assert.StartsWith("grafana/grafana", C.Str(grafana, "image"), StringComparison.Ordinal);
        Assert.Contains("influxdb", C.DependsOn(grafana));
        var mounts = C.List(grafana, "volumes").Select(v => v.Split(':')).ToDictionary(m => m[1], m => m[0], StringComparer.Ordinal);
        Assert.Equal("./dashboards/grafana/provisioning", mounts["/etc/grafana/provisioning"]);
        var provisioning = Path.Combine(RepoPaths.Root, "dashboards", "grafana", "provisioning");
        var yaml = new DeserializerBuilder().Build();

        // The data source is the compose InfluxDB and database, with the uid every panel names.
        var sources = yaml.Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine(provisioning, "datasources", "influxdb.yaml")));
        var source = (Dictionary<object, object>)((List<object>)sources["datasources"]).Single();
        Assert.Equal("influxdb", source["type"]);
        Assert.Equal("http://influxdb:8086", source["url"]);
        Assert.Equal(C.Env("influxdb")["INFLUXDB_DB"], ((Dictionary<object, object>)source["jsonData"])["dbName"]);
        foreach (var path in DashboardFiles.GrafanaPaths())
        {
            Assert.Contains($"\"uid\": \"{source["uid"]}\"", File.ReadAllText(path), StringComparison.Ordinal);
        }

        // The dashboards provider reads the folder the dashboards are mounted at.
        var providers = yaml.Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine(provisioning, "dashboards", "streammon.yaml")));
        var provider = (Dictionary<object, object>)((List<object>)providers["providers"]).Single();
        Assert.Equal("file", provider["type"]);
        var folder = (string)((Dictionary<object, object>)provider["options"])["path"];
        Assert.True(mounts.TryGetValue(folder, out var mounted), $"grafana: nothing is mounted at the provider's path {folder}");
        Assert.Equal(Path.GetFullPath(DashboardFiles.GrafanaDirectory), Path.GetFullPath(Path.Combine(RepoPaths.Root, mounted!)));
        Assert.True(DashboardFiles.GrafanaPaths().Count >= 4, "expected the four Grafana dashboards");
    }

    [Fact]
    public void Images_build_the_service_projects_and_jobs_run_real_cli_verbs()
    {
        var dockerfiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, service) in C.Services.Where(s => s.Value.ContainsKey("build")))
        {
            var build = (Dictionary<object, object>)service["build"];
            var dockerfile = Path.Combine(RepoPaths.Root, (string)build["dockerfile"]);
            Assert.True(File.Exists(dockerfile), $"{name}: {dockerfile} missing");
            dockerfiles.Add(dockerfile);
            var args = ((Dictionary<object, object>)build["args"]).ToDictionary(kv => (string)kv.Key, kv => (string)kv.Value);
            var project = Path.Combine(RepoPaths.Root, args["SERVICE_PROJECT"]);
            Assert.True(File.Exists(project), $"{name}: {project} missing");
            var assemblyName = AssemblyNameOf().Match(File.ReadAllText(project)) is { Success: true } m ? m.Groups[1].Value : Path.GetFileNameWithoutExtension(project);
            Assert.Equal(assemblyName + ".dll", args["SERVICE_DLL"]);
        }

        foreach (var dockerfile in dockerfiles)
        {
            foreach (Match copy in CopyLine().Matches(File.ReadAllText(dockerfile)))
            {
                foreach (var source in copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
                {
                    Assert.True(File.Exists(Path.Combine(RepoPaths.Root, source)) || Directory.Exists(Path.Combine(RepoPaths.Root, source)), $"{dockerfile}: COPY source {source} missing");
                }
            }
        }

        var root = new RootCommand();
        foreach (var type in typeof(StreamMonitor.Cli.Commands.KafkaCommand).Assembly.GetTypes().Where(t => t.Namespace == "StreamMonitor.Cli.Commands" && t.IsPublic))
        {
            if (type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes) is { } create && create.ReturnType == typeof(Command))
            {
                root.Add((Command)create.Invoke(null, null)!);
            }
        }

        foreach (var (name, service) in C.Services.Where(s => s.Value.ContainsKey("command") && ((string)s.Value["image"]).EndsWith("/cli", StringComparison.Ordinal)))
        {
            var parse = root.Parse(C.Command(name).ToArray());
            Assert.True(parse.Errors.Count == 0, $"{name}: `streammon {string.Join(' ', C.Command(name))}` does not parse: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
    }

    [Fact]
    public void Profile_gpu_runs_the_cuda_build_of_the_scorer_on_a_reserved_nvidia_device()
    {
        var gpu = C.Services["scorer-gpu"];
        Assert.Equal(["gpu"], C.List(gpu, "profiles"));
        Assert.All(C.Services.Where(s => s.Key != "scorer-gpu"), s => Assert.Empty(C.List(s.Value, "profiles"))); // the default stack is unchanged

        // Reserved the way compose hands a GPU to a container (the NVIDIA Container Toolkit does the rest).
        var reservations = (Dictionary<object, object>)((Dictionary<object, object>)((Dictionary<object, object>)gpu["deploy"])["resources"])["reservations"];
        var device = (Dictionary<object, object>)Assert.Single((List<object>)reservations["devices"]);
        Assert.Equal("nvidia", device["driver"]);
        Assert.Contains("gpu", C.List(device, "capabilities"));
        Assert.Equal("1", Convert.ToString(device["count"], CultureInfo.InvariantCulture));

        // The CPU scorer's settings plus an explicit cuda on the one reserved device (ordinal 0 inside the container).
        var env = C.Env("scorer-gpu");
        Assert.All(C.Env("scorer"), kv => Assert.Equal(kv.Value, env[kv.Key]));
        Assert.Equal("cuda", env["Scorer__ExecutionProvider"]);
        Assert.Equal("0", env["Scorer__CudaDeviceId"]);
        Assert.Equal(C.List(C.Services["scorer"], "volumes"), C.List(gpu, "volumes"));
        Assert.Equal(C.DependsOn(C.Services["scorer"]), C.DependsOn(gpu));

        // The image: CUDA 13 with cuDNN 9 as the runtime base, the scorer published with the GPU flavour of ONNX Runtime.
        var build = (Dictionary<object, object>)gpu["build"];
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, (string)build["dockerfile"]));
        Assert.Matches(@"(?m)^ARG CUDA_IMAGE=nvidia/cuda:13\.[0-9.]+-cudnn-runtime-", dockerfile);
        Assert.Matches(@"(?m)^FROM \$\{CUDA_IMAGE\} AS runtime$", dockerfile);
        Assert.Matches(@"(?m)^RUN dotnet publish ""\$\{SERVICE_PROJECT\}"" .*-p:OnnxRuntimeFlavor=Gpu", dockerfile);
    }

    private static IReadOnlyList<OptionsSection> Sections(string service) =>
        ServiceAssemblies.OptionsSections(ServiceAssemblies.Load(ServiceDll(service)));

    /// <summary>The folder under services/ whose code a compose service runs.</summary>
    private static string Project(string service) => service == "scorer-gpu" ? "scorer" : service;

    private static string ServiceDirectory(string service) => Path.Combine(RepoPaths.Root, "services", Project(service));

    private static string ServiceDll(string service)
    {
        var configuration = typeof(DockerComposeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var name = Project(service) switch { "scorer" => "StreamMonitor.Scorer", "aggregator" => "StreamMonitor.Aggregator", _ => "StreamMonitor.Alerter" };
        return Path.Combine(ServiceDirectory(service), "bin", configuration, "net10.0", name + ".dll");
    }

    private static string ResolveDefault(string value)
    {
        var m = ComposeDefault().Match(value);
        return m.Success ? m.Groups[1].Value : value;
    }

    /// <summary>Whether a configuration path (after the section) binds to a settable scalar of <paramref name="type"/>.</summary>
    private static bool KeyExists(Type type, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
        {
            return IsScalar(type);
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return KeyExists(valueType, path[1..]);
        }

        if (ElementType(type) is { } elementType)
        {
            return int.TryParse(path[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) && KeyExists(elementType, path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || property.GetMethod is not { IsPublic: true })
        {
            return false;
        }

        var settable = property.SetMethod is { IsPublic: true } || !IsScalar(property.PropertyType);
        return settable && KeyExists(property.PropertyType, path[1..]);
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(decimal) || t == typeof(TimeSpan) || t == typeof(Uri) || t == typeof(DateTimeOffset);
    }

    private static Type? DictionaryValueType(Type type) => type.GetInterfaces().Append(type)
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>) && i.GetGenericArguments()[0] == typeof(string))?.GetGenericArguments()[1];

    private static Type? ElementType(Type type) => type == typeof(string) ? null : type.IsArray ? type.GetElementType() : type.GetInterfaces().Append(type)
        .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static IEnumerable<(string Key, string Value)> Strings(object instance, string path)
    {
        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            var value = property.GetValue(instance);
            var key = $"{path}:{property.Name}";
            switch (value)
            {
                case string s:
                    yield return (key, s);
                    break;
                case IDictionary dictionary:
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        if (entry.Value is string text)
                        {
                            yield return ($"{key}:{entry.Key}", text);
                        }
                    }

                    break;
                case null or IEnumerable:
                    break;
                default:
                    if (!IsScalar(value.GetType()) && value.GetType().Namespace?.StartsWith("StreamMonitor", StringComparison.Ordinal) == true)
                    {
                        foreach (var nested in Strings(value, key))
                        {
                            yield return nested;
                        }
                    }

                    break;
            }
        }
    }

    [GeneratedRegex(@"defaultPort:\s*(\d+)")]
    private static partial Regex DefaultPort();

    [GeneratedRegex(@"FROM ""([^""]+)""\.""autogen""")]
    private static partial Regex DatabaseInQuery();

    [GeneratedRegex(@"<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyNameOf();

    [GeneratedRegex(@"^COPY (?!--from)(.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyLine();

    [GeneratedRegex(@"^\$\{[A-Z_]+:-(.+)\}$")]
    private static partial Regex ComposeDefault();

    /// <summary>docker-compose.yml parsed with YamlDotNet (merge keys resolved).</summary>
    private sealed class Compose
    {
        public required Dictionary<object, object> Root { get; init; }

        public required Dictionary<string, Dictionary<object, object>> Services { get; init; }

        public static Compose Load()
        {
            using var reader = new StringReader(File.ReadAllText(Path.Combine(RepoPaths.Root, "docker-compose.yml")));
            var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(new MergingParser(new Parser(reader)));
            var services = ((Dictionary<object, object>)root["services"]).ToDictionary(kv => (string)kv.Key, kv => (Dictionary<object, object>)kv.Value, StringComparer.Ordinal);
            return new Compose { Root = root, Services = services };
        }

        public Dictionary<string, string> Env(string service) =>
            Services[service].TryGetValue("environment", out var env)
                ? ((Dictionary<object, object>)env).Where(kv => (string)kv.Key != "<<").ToDictionary(kv => (string)kv.Key, kv => Convert.ToString(kv.Value, CultureInfo.InvariantCulture) ?? "", StringComparer.Ordinal)
                : [];

        public List<string> Command(string service) => List(Services[service], "command");

        public List<string> List(Dictionary<object, object> node, string key) =>
            node.TryGetValue(key, out var value) && value is List<object> list ? list.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "").ToList() : [];

        public string Str(Dictionary<object, object> node, string key) => node.TryGetValue(key, out var value) ? (string)value : "";

        public IEnumerable<string> DependsOn(Dictionary<object, object> service) => service.TryGetValue("depends_on", out var d)
            ? d is Dictionary<object, object> map ? map.Keys.Cast<string>() : ((List<object>)d).Cast<string>()
            : [];
    }
}
