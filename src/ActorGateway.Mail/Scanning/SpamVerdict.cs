namespace ActorGateway.Mail.Scanning;

/// <summary>A spam scorer's answer: the score with the symbols behind it, or no answer.</summary>
public sealed record SpamVerdict(bool Scored, double Score, IReadOnlyList<string> Symbols, string? Error = null)
{
    public static SpamVerdict Failed(string error) => new(false, 0, [], error);
}

/// <summary>What a scorer may know about the message besides its bytes (rspamd uses all of it).</summary>
public sealed record SpamContext(string ClientAddress, string? Helo, string Sender, IReadOnlyList<string> Recipients, string? User);

public interface ISpamScorer
{
    string Name { get; }
    Task<SpamVerdict> ScoreAsync(ScannedMessage message, SpamContext context, CancellationToken ct);
}
