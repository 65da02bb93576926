using System.Globalization;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>`streammon profile build` from an event-time range of the features topic against the same rows in a CSV file.</summary>
[Collection(AggregatorProcessCollection.Name)]
public sealed class ProfileFromTopicTests(AggregatorProcessFixture fixture)
{
    [Fact]
    public async Task A_profile_built_from_a_topic_range_equals_the_profile_of_the_same_rows_in_a_file()
    {
        var scratch = Directory.CreateTempSubdirectory("streammon-profile-");
        try
        {
            // The first 300 rows of the real data set, as a file and as feature events inside the range; other
            // models' events and events outside the range must be left out.
            var lines = File.ReadAllLines(Path.Combine(StreammonCli.RepositoryRoot, "data", "breast_cancer_wisconsin.csv")).Where(l => l.Length > 0).ToList();
            var header = lines[0].Split(',');
            var rows = lines.Skip(1).Take(300).ToList();
            var csv = Path.Combine(scratch.FullName, "reference.csv");
            await File.WriteAllLinesAsync(csv, rows.Prepend(lines[0]));

            var options = fixture.Kafka.CreateOptions();
            var codec = fixture.Kafka.Codec;
            const long from = 1_763_800_000_000;
            using (var producer = fixture.Kafka.CreateProducer(options))
            {
                void Produce(string model, long eventTime, string row, int i) =>
                    CsvFeatureEvents.Produce(producer, codec, options.Topics, header, row, model, eventTime, $"{model}-{i}");

                for (var i = 0; i < rows.Count; i++)
                {
                    Produce("cancer", from + (i * 1_000), rows[i], i);
                    Produce("other", from + (i * 1_000), rows[(i + 7) % rows.Count], i);
                }

                foreach (var (row, i) in lines.Skip(301).Take(20).Select((r, i) => (r, i)))
                {
                    Produce("cancer", from - 1 - i, row, 10_000 + i);
                    Produce("cancer", from + (rows.Count * 1_000) + i, row, 20_000 + i);
                }

                producer.Flush(TimeSpan.FromSeconds(30));
            }

            var fromTopic = Path.Combine(scratch.FullName, "topic.json");
            var fromFile = Path.Combine(scratch.FullName, "file.json");
            await RunAsync("profile", "build", "--model", "cancer", "--out", fromTopic, "--bootstrap-servers", fixture.Kafka.BootstrapServers, "--suffix", options.Topics.Suffix,
                "--from-ms", from.ToString(CultureInfo.InvariantCulture), "--to-ms", (from + (rows.Count * 1_000)).ToString(CultureInfo.InvariantCulture));
            await RunAsync("profile", "build", "--model", "cancer", "--out", fromFile, "--data", csv);

            var topic = ReferenceProfile.Load(fromTopic);
            var file = ReferenceProfile.Load(fromFile);
            Assert.Equal(rows.Count, topic.Rows);
            Assert.Equal(file.Rows, topic.Rows);
            Assert.Equal(file.Numeric.Select(n => n.Name).Order(StringComparer.Ordinal), topic.Numeric.Select(n => n.Name));
            Assert.Empty(topic.Categorical);
            foreach (var expected in file.Numeric)
            {
                var actual = topic.Numeric.Single(n => n.Name == expected.Name);
                Assert.Equal(expected.Count, actual.Count);
                Assert.Equal(expected.Nulls, actual.Nulls);
                Assert.Equal(expected.Min, actual.Min);
                Assert.Equal(expected.Max, actual.Max);
                Assert.Equal(expected.Grid, actual.Grid);
                Assert.Equal(expected.GridCounts, actual.GridCounts);
                Assert.Equal(expected.BinEdges, actual.BinEdges);

                // Sums over the rows in another order (partitions, not file order): equal up to rounding.
                Assert.Equal(expected.Mean, actual.Mean, 1e-9 * Math.Max(1, Math.Abs(expected.Mean)));
                Assert.Equal(expected.Std, actual.Std, 1e-9 * Math.Max(1, expected.Std));
            }
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static async Task RunAsync(params string[] arguments)
    {
        var (exit, output) = await StreammonCli.RunAsync(arguments);
        Assert.True(exit == 0, $"streammon {string.Join(' ', arguments)} exited {exit}:\n{output}");
    }
}
