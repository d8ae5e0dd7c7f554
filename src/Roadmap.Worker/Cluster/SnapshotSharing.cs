using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Roadmap.Storage;
using Roadmap.Worker.Evaluation;

namespace Roadmap.Worker.Cluster;

/// <summary>
/// The evaluator's rounds for the other replicas: the evaluator stores each round's snapshot, the others take the
/// newest stored one at each of their evaluation ticks, so the board and the API answer alike on every replica.
/// </summary>
public sealed partial class SnapshotSharing(EvaluationService evaluation, ClusterMembership membership, Func<IClusterStore?> store, ILogger<SnapshotSharing> log)
{
    /// <summary>Stores the evaluator's latest round.</summary>
    public void Publish(RoadmapSnapshot snapshot)
    {
        try
        {
            store()?.SaveSnapshot(new StoredSnapshot(snapshot.At.ToUnixTimeMilliseconds(), membership.Node, Serialize(snapshot)));
        }
        catch (StorageException e)
        {
            LogNotShared(log, e.Message);
        }
    }

    /// <summary>Takes the stored round when it is newer than the one this replica holds.</summary>
    public void Follow()
    {
        try
        {
            if (store()?.LoadSnapshot(evaluation.Latest.At == DateTimeOffset.MinValue ? long.MinValue : evaluation.Latest.At.ToUnixTimeMilliseconds()) is { } stored
                && Deserialize(stored.Body) is { } snapshot)
            {
                evaluation.Adopt(snapshot);
            }
        }
        catch (Exception e) when (e is StorageException or JsonException or NotSupportedException)
        {
            LogNotFollowed(log, e.Message);
        }
    }

    /// <summary>The snapshot as stored: JSON, NaN and infinities kept.</summary>
    public static byte[] Serialize(RoadmapSnapshot snapshot) => JsonSerializer.SerializeToUtf8Bytes(snapshot, SnapshotJson.Default.RoadmapSnapshot);

    /// <summary>The snapshot read back.</summary>
    /// <exception cref="JsonException">The bytes are not a snapshot.</exception>
    public static RoadmapSnapshot? Deserialize(byte[] body) => JsonSerializer.Deserialize(body, SnapshotJson.Default.RoadmapSnapshot);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: the evaluation round was not stored for the other replicas: {Reason}")]
    private static partial void LogNotShared(ILogger log, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster: the evaluator's latest round could not be read: {Reason}")]
    private static partial void LogNotFollowed(ILogger log, string reason);
}

/// <summary>Source-generated JSON for the shared snapshot (the native build has no reflection to fall back on).</summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RoadmapSnapshot))]
internal sealed partial class SnapshotJson : JsonSerializerContext;
