using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace ActorGateway.Mail.Scanning;

/// <summary>A weighted rule on one header or on the decoded text body.</summary>
public sealed record SpamRule(string Name, string? Header, Regex Pattern, double Score);

/// <summary>
/// The embedded default scorer: GTUBE (the standard spam test string) scores 1000, and each
/// configured rule that matches adds its weight. Classification against a threshold is the
/// caller's (a tenant may have its own).
/// </summary>
public sealed class BuiltInSpamScorer(IReadOnlyList<SpamRule> rules) : ISpamScorer
{
    public const string Gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

    public string Name => "builtin";

    // GTUBE is ASCII: it is in the message's bytes exactly when it is in their decoded text.
    static readonly byte[] GtubeBytes = Encoding.ASCII.GetBytes(Gtube);

    public Task<SpamVerdict> ScoreAsync(ScannedMessage message, SpamContext context, CancellationToken ct)
    {
        var symbols = new List<string>();
        double score = 0;
        if (message.Bytes.AsSpan().IndexOf(GtubeBytes) >= 0) { score += 1000; symbols.Add("GTUBE"); }

        var parsed = message.Mime;
        // The decoded body only when a rule reads it (the shipped rules read headers alone).
        string? body = null;
        foreach (var rule in rules)
        {
            var text = rule.Header is null
                ? body ??= parsed is null ? Encoding.UTF8.GetString(message.Bytes) : (parsed.TextBody ?? "") + "\n" + (parsed.HtmlBody ?? "")
                : parsed?.Headers[rule.Header] ?? "";
            if (rule.Pattern.IsMatch(text)) { score += rule.Score; symbols.Add($"{rule.Name}({rule.Score:0.##})"); }
        }
        return Task.FromResult(new SpamVerdict(true, score, symbols));
    }
}
