using ActorGateway.Mail.Scanning;
using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Ingress;

/// <summary>
/// Suspected spam is not refused: it is marked for the bad pool, so it can only leave from
/// the bad gateway's address. A scorer that cannot answer never lets mail pass unclassified.
/// </summary>
public sealed class SpamClassifier(ISpamScorer scorer, double threshold, ScannerFailureAction onFailure, ILogger log)
{
    public static readonly SmtpReply ScorerUnavailable = new(451, "4.7.0", "Spam scanner unavailable, try again later");
    public static readonly SmtpReply ScorerUnavailableReject = new(554, "5.7.0", "Message could not be scanned for spam");

    /// <summary>The envelope with its pool and score, or the reply that refuses the message.</summary>
    public async Task<(MessageEnvelope? Envelope, SmtpReply? Refusal)> ClassifyAsync(
        string queueId, Tenant tenant, MessageEnvelope envelope, ScannedMessage message, SpamContext context, CancellationToken ct)
    {
        var verdict = await scorer.ScoreAsync(message, context, ct);
        if (!verdict.Scored)
        {
            log.LogError("{QueueId}: spam scorer {Scorer} failed: {Error}; answering {Action}", queueId, scorer.Name, verdict.Error, onFailure);
            return (null, onFailure == ScannerFailureAction.Tempfail ? ScorerUnavailable : ScorerUnavailableReject);
        }
        var limit = tenant.SpamThreshold ?? threshold;
        var pool = verdict.Score >= limit ? Pools.Bad : Pools.Good;
        log.LogInformation("{QueueId}: tenant={Tenant} spam score={Score:0.##} threshold={Threshold:0.##} symbols=[{Symbols}] scorer={Scorer} -> pool={Pool}",
            queueId, tenant.Id, verdict.Score, limit, string.Join(",", verdict.Symbols), scorer.Name, pool);
        return (envelope with { Pool = pool, SpamScore = verdict.Score, SpamSymbols = verdict.Symbols }, null);
    }
}
