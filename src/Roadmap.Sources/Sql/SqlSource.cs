using System.Globalization;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Sql;

/// <summary>One sql query target. See <see cref="SqlSourceKind"/>.</summary>
public sealed class SqlSource : ISource
{
    private readonly SourceContext _context;
    private readonly SqlQueryOptions _options;
    private readonly string _connectionString;

    public SqlSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (SqlQueryOptions)config.Options;
        var builder = new SqliteConnectionStringBuilder(_options.ConnectionString);
        // A typo in a path must not create an empty database: read-only unless the config names a Mode.
        if (!new System.Data.Common.DbConnectionStringBuilder { ConnectionString = _options.ConnectionString }.ContainsKey("Mode"))
        {
            builder.Mode = SqliteOpenMode.ReadOnly;
        }

        _connectionString = builder.ToString();
    }

    public SourceConfig Config { get; }

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(Config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await using var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync(linked.Token);
            // Microsoft.Data.Sqlite does not stop a running statement on cancellation; sqlite3_interrupt does.
            using var interrupt = linked.Token.Register(() => SQLitePCL.raw.sqlite3_interrupt(connection.Handle));
            await using var command = connection.CreateCommand();
            command.CommandText = _options.Query;
            command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(Config.Timeout.TotalSeconds));
            await using var reader = await command.ExecuteReaderAsync(linked.Token);
            double? value = null;
            if (await reader.ReadAsync(linked.Token) && reader.FieldCount == 1 && !await reader.IsDBNullAsync(0, linked.Token))
            {
                var first = reader.GetValue(0);
                if (!await reader.ReadAsync(linked.Token))
                {
                    value = AsNumber(first);
                }
            }

            var duration = time.GetElapsedTime(started);
            var samples = new List<Sample> { new(SqlSourceKind.DurationSeconds, duration.TotalSeconds) };
            if (value is { } v)
            {
                samples.Add(new(SqlSourceKind.Value, v));
            }

            return PollResult.Ok(samples, duration);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is OperationCanceledException || e is SqliteException { SqliteErrorCode: SQLitePCL.raw.SQLITE_INTERRUPT })
        {
            cancellationToken.ThrowIfCancellationRequested();
            return PollResult.Failed($"timeout after {Durations.Format(Config.Timeout)}", time.GetElapsedTime(started));
        }
        catch (SqliteException e)
        {
            return PollResult.Failed($"query failed: {e.Message}", time.GetElapsedTime(started));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static double? AsNumber(object value) => value switch
    {
        long l => l,
        double d => d,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}
