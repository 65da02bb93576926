using System.ComponentModel.DataAnnotations;
using StreamMonitor.Contracts;

namespace StreamMonitor.Demo;

/// <summary>Settings of one demo run (the `streammon demo` options).</summary>
public sealed class DemoOptions
{
    /// <summary>Wall-clock length of the traffic.</summary>
    [DurationRange("10s", "1d")]
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Feature events per wall-clock second.</summary>
    [Range(1, 100_000)]
    public double RatePerSecond { get; set; } = 50;

    /// <summary>Event-time seconds per wall-clock second.</summary>
    [Range(1, 100_000)]
    public double TimeCompression { get; set; } = 60;

    /// <summary>Seed of the traffic, the models and the split.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Model name (the scorer serves it; the SLOs name it).</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelName { get; set; } = "cancer";

    /// <summary>
    /// Batch-1 inference time, in multiples of the latency SLO threshold, that the heavy version hot-loaded for the
    /// latency regression is sized to on this machine (<see cref="DemoModels.Prepare"/> measures it). Sizing by
    /// measurement rather than by a fixed width is what makes the regression miss the threshold on any CPU.
    /// </summary>
    [Range(1.2, 20)]
    public double HeavyCostFactor { get; set; } = 2;

    /// <summary>Folder for models, profiles, logs and the summary; a fresh one per run.</summary>
    [Required(AllowEmptyStrings = false)]
    public string WorkDirectory { get; set; } = Path.Combine(".streammon", "demo");

    /// <summary>Data set (CSV with a "label" column).</summary>
    [Required(AllowEmptyStrings = false)]
    public string DataSet { get; set; } = Path.Combine("data", "breast_cancer_wisconsin.csv");

    /// <summary>SLO file for the alerter.</summary>
    [Required(AllowEmptyStrings = false)]
    public string SloFile { get; set; } = Path.Combine("config", "demo-slos.yaml");

    /// <summary>Chronograf dashboards shipped with the project (named in the summary).</summary>
    [Required(AllowEmptyStrings = false)]
    public string DashboardsDirectory { get; set; } = "dashboards";

    /// <summary>Use this Kafka cluster instead of starting the embedded one.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>Use this InfluxDB (1.x HTTP API) instead of starting a local influxd.</summary>
    public Uri? InfluxUrl { get; set; }

    /// <summary>InfluxDB database the services write to.</summary>
    [Required(AllowEmptyStrings = false)]
    public string InfluxDatabase { get; set; } = "streammon";

    /// <summary>Keep the stack running after the summary until Ctrl-C.</summary>
    public bool KeepRunning { get; set; }

    /// <summary>Render the live table (false: one progress line every few seconds, for logs and CI).</summary>
    public bool Interactive { get; set; } = true;

    /// <summary>Validates the attributes; throws naming the bad option.</summary>
    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}
