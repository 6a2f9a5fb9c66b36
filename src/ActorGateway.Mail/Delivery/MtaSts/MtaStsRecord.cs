namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// The TXT record at _mta-sts.&lt;domain&gt; (RFC 8461 3.1): "v=STSv1; id=...;". Its id changes
/// whenever the domain publishes a new policy, which tells a sender to fetch it again.
/// </summary>
public sealed record MtaStsRecord(string Id)
{
    /// <summary>
    /// The one STSv1 record among a name's TXT records (each given as its strings joined), or
    /// null: none, more than one (the RFC treats that as no record), or one that is malformed.
    /// </summary>
    public static MtaStsRecord? Find(IEnumerable<string> txtRecords)
    {
        var candidates = txtRecords.Where(t => t.StartsWith("v=STSv1", StringComparison.Ordinal)).ToList();
        return candidates.Count == 1 ? Parse(candidates[0]) : null;
    }

    public static MtaStsRecord? Parse(string text)
    {
        string? version = null, id = null;
        var first = true;
        foreach (var field in text.Split(';'))
        {
            var f = field.Trim(' ', '\t');
            if (f.Length == 0) continue;
            var eq = f.IndexOf('=');
            if (eq <= 0) return null;
            var (key, value) = (f[..eq], f[(eq + 1)..]);
            if (first && key != "v") return null; // v= must come first
            first = false;
            if (key == "v") version ??= value;
            else if (key == "id") id ??= value;
        }
        if (version != "STSv1" || id is null || id.Length is 0 or > 32 || !id.All(char.IsAsciiLetterOrDigit)) return null;
        return new MtaStsRecord(id);
    }
}
