namespace Roadmap.Sources.Sql;

/// <summary>The keys of a sql source.</summary>
/// <param name="Provider">sqlite (postgres comes with the every-source-kind work).</param>
/// <param name="ConnectionString">As the provider reads it; a sqlite one opens read-only unless it names a Mode.</param>
/// <param name="Query">Run on each poll; its wall time is duration_seconds, and its result is value when it is one number.</param>
public sealed record SqlQueryOptions(string Provider, string ConnectionString, string Query);
