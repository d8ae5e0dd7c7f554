using System.Globalization;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Sql;

/// <summary>One sql query target. See <see cref="SqlSourceKind"/>; what differs per engine is its <see cref="ISqlProvider"/>.</summary>
public sealed class SqlSource : ISource
{
    private readonly SourceContext _context;
    private readonly SqlQueryOptions _options;
    private readonly ISqlDatabase _database;

    internal SqlSource(SourceConfig config, SourceContext context, ISqlProvider provider)
    {
        Config = config;
        _context = context;
        _options = (SqlQueryOptions)config.Options;
        var tls = _options.Tls is { } settings
            ? new TlsClient(settings, config.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), context.Time)
            : null;
        _database = provider.Database(_options.ConnectionString, config.Timeout, context.Network, tls);
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
            await using var connection = await _database.OpenAsync(linked.Token);
            using var stop = _database.StopOnCancel(connection, linked.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = _options.Query;
            // The token enforces the exact timeout; CommandTimeout (whole seconds) is the driver's own backstop.
            command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(Config.Timeout.TotalSeconds));
            var queryStarted = time.GetTimestamp();
            double? value = null;
            await using (var reader = await command.ExecuteReaderAsync(linked.Token))
            {
                if (await reader.ReadAsync(linked.Token) && reader.FieldCount == 1 && !await reader.IsDBNullAsync(0, linked.Token))
                {
                    var first = ReadValue(reader);
                    if (!await reader.ReadAsync(linked.Token))
                    {
                        value = first;
                    }
                }
            }

            // The query's wall time, without the connect: that is the poll's duration.
            var queryTime = time.GetElapsedTime(queryStarted);
            var samples = new List<Sample> { new(SqlSourceKind.DurationSeconds, queryTime.TotalSeconds) };
            if (value is { } v)
            {
                samples.Add(new(SqlSourceKind.Value, v));
            }

            return PollResult.Ok(samples, time.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is OperationCanceledException || _database.IsTimeout(e))
        {
            cancellationToken.ThrowIfCancellationRequested();
            return PollResult.Failed($"timeout after {Durations.Format(Config.Timeout)}", time.GetElapsedTime(started));
        }
        catch (Exception e) when (_database.Reason(e) is { } reason)
        {
            return PollResult.Failed(reason, time.GetElapsedTime(started));
        }
    }

    public ValueTask DisposeAsync() => _database.DisposeAsync();

    /// <summary>The one value as a finite number; null when it is text that is no number, a blob, NaN, ±infinity, ...</summary>
    private static double? ReadValue(System.Data.Common.DbDataReader reader)
    {
        object value;
        try
        {
            value = reader.GetValue(0);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            // A PostgreSQL numeric that fits no decimal (NaN, 1e100): not a number we can hold exactly.
            return null;
        }

        double? number = value switch
        {
            long l => l,
            int i => i,
            short s => s,
            byte b => b,
            sbyte b => b,
            ulong u => u,
            uint u => u,
            ushort u => u,
            double d => d,
            float f => f,
            decimal m => (double)m,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        };
        return number is { } n && double.IsFinite(n) ? n : null;
    }
}
