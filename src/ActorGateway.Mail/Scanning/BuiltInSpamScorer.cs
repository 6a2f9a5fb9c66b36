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

    public Task<SpamVerdict> ScoreAsync(ScannedMessage message, SpamContext context, CancellationToken ct)
    {
        var raw = Encoding.UTF8.GetString(message.Bytes);
        var symbols = new List<string>();
        double score = 0;
        if (raw.Contains(Gtube, StringComparison.Ordinal)) { score += 1000; symbols.Add("GTUBE"); }

        var parsed = message.Mime;
        var body = parsed is null ? raw : (parsed.TextBody ?? "") + "\n" + (parsed.HtmlBody ?? "");
        foreach (var rule in rules)
        {
            var text = rule.Header is null ? body : parsed?.Headers[rule.Header] ?? "";
            if (rule.Pattern.IsMatch(text)) { score += rule.Score; symbols.Add($"{rule.Name}({rule.Score:0.##})"); }
        }
        return Task.FromResult(new SpamVerdict(true, score, symbols));
    }
}
