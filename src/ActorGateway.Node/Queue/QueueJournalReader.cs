using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;

namespace ActorGateway.Node.Queue;

/// <summary>One queue event past the sweeper's offset; Event is null where the sweeper does not need its payload.</summary>
public sealed record QueueEvent(long Ordering, string Tag, string PersistenceId, object? Event);

/// <summary>
/// What the sweeper needs of a MessageAccepted: read without its body, which would be decoded
/// and held for nothing (a sweep behind a dead receiver reads tens of thousands of them).
/// </summary>
public sealed record QueuedHead(string QueueId, QueuedHead.EnvelopeHead Envelope, string? AcceptedBy)
{
    public sealed record EnvelopeHead(DateTimeOffset ReceivedAt);
}

/// <summary>What one read brought: the events in journal order, and whether more were left for the next read.</summary>
public sealed record QueueEvents(IReadOnlyList<QueueEvent> Events, bool More);

/// <summary>
/// Reads the queue's tags straight from the journal's tables (SQLite or PostgreSQL, the
/// plugin's default schema) for the queue sweeper. The tag rows come first, in journal order;
/// payloads are fetched only for what the sweeper still needs: every done event (its delivery
/// record), and the other events of messages whose done event is not in the same read. So the
/// common case, mail delivered at its first attempt, costs three small index rows and one small
/// payload per sweep instead of the body read back with the accepted event.
/// The plugin's read journal is not used: its ordering tracker polls the journal many times a
/// second and stalls on every hole that the deletion of completed messages leaves. Events that
/// commit late with a lower ordering (PostgreSQL, concurrent writers) are caught by the
/// sweeper's periodic re-read of a margin instead.
/// </summary>
public sealed class QueueJournalReader(StorageProvider provider, string connectionString)
{
    const int TagRowsPerQuery = 5000, PayloadsPerQuery = 500;
    // The gateway's JSON serializer names each event by its type (see GatewayJsonSerializer).
    static readonly string AcceptedManifest = typeof(MessageAccepted).FullName!;

    public QueueJournalReader(GatewaySettings settings) : this(settings.Storage, settings.ConnectionString) { }

    /// <summary>
    /// The tag rows after @from: a range on the tag table's key (it starts with the ordering), on
    /// both databases. The tags are filtered here, not in SQL: with a condition on the tag, SQLite
    /// (which has no statistics unless ANALYZE ran) chose the index on the tag instead and read every
    /// queue row of the table, sorting them, on every read: a cost that grew with the queue.
    /// </summary>
    public static string TagRowsAfter(int rows) => $"SELECT ordering_id, tag, persistence_id FROM tags WHERE ordering_id > @from ORDER BY ordering_id LIMIT {rows}";

    /// <summary>The queue events after <paramref name="offset"/>, at most about <paramref name="limit"/> of them.</summary>
    public async Task<QueueEvents> ReadAfterAsync(long offset, int limit, Akka.Serialization.Serialization serialization, CancellationToken ct = default)
    {
        await using var connection = await ActorGateway.Node.Storage.GatewayDatabase.OpenAsync(provider, connectionString, ct);
        var rows = new List<(long Ordering, string Tag, string PersistenceId)>();
        var more = false;
        var page = Math.Min(TagRowsPerQuery, limit);
        var last = offset;
        while (true)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = TagRowsAfter(page);
            var p = command.CreateParameter();
            p.ParameterName = "@from";
            p.Value = last;
            command.Parameters.Add(p);
            var read = 0;
            await using (var reader = await command.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                {
                    read++;
                    last = reader.GetInt64(0);
                    var tag = reader.GetString(1);
                    if (tag is QueueTags.Queued or QueueTags.Attempted or QueueTags.Done) rows.Add((last, tag, reader.GetString(2)));
                }
            if (read < page) break;
            if (rows.Count >= limit) { more = true; break; }
        }

        var done = rows.Where(r => r.Tag == QueueTags.Done).Select(r => r.PersistenceId).ToHashSet(StringComparer.Ordinal);
        var wanted = rows.Where(r => r.Tag == QueueTags.Done || !done.Contains(r.PersistenceId)).Select(r => r.Ordering).ToArray();
        var payloads = new Dictionary<long, object>();
        foreach (var chunk in wanted.Chunk(PayloadsPerQuery))
        {
            await using var command = connection.CreateCommand();
            // Orderings are numbers read from the database: safe to inline, and one statement serves both providers.
            command.CommandText = $"SELECT ordering, message, identifier, manifest FROM journal WHERE ordering IN ({string.Join(',', chunk)})";
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var manifest = reader.IsDBNull(3) ? "" : reader.GetString(3);
                payloads[reader.GetInt64(0)] = manifest == AcceptedManifest
                    ? System.Text.Json.JsonSerializer.Deserialize<QueuedHead>((byte[])reader[1])!
                    : serialization.Deserialize((byte[])reader[1], reader.GetInt32(2), manifest);
            }
        }
        return new QueueEvents(rows.Select(r => new QueueEvent(r.Ordering, r.Tag, r.PersistenceId, payloads.GetValueOrDefault(r.Ordering))).ToArray(), more);
    }
}
