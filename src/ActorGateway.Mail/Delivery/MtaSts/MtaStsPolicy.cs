namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// A domain's MTA-STS policy as fetched from https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt
/// (RFC 8461 3.2): its mode, the MX host patterns it allows, and how long a sender may keep it.
/// </summary>
public sealed record MtaStsPolicy(MtaStsMode Mode, IReadOnlyList<string> Mx, TimeSpan MaxAge)
{
    /// <summary>RFC 8461 3.2: max_age is at most 31557600 seconds (about one year).</summary>
    public const long MaxAgeLimit = 31_557_600;

    public bool AllowsMx(string host) => Mode == MtaStsMode.None || MxPattern.MatchesAny(Mx, host);

    /// <summary>
    /// Parses a policy body: "key: value" lines (CRLF or LF), "version: STSv1" first, a mode,
    /// max_age, and at least one mx unless the mode is none. Unknown keys are ignored; of a
    /// repeated key other than mx the first counts. Returns null with <paramref name="error"/>
    /// saying what is wrong.
    /// </summary>
    public static MtaStsPolicy? Parse(string text, out string error)
    {
        string? version = null, mode = null, maxAge = null;
        var mx = new List<string>();
        var first = true;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0) { error = $"not a 'key: value' line: '{line}'"; return null; }
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (first && key != "version") { error = "the first field is not version"; return null; }
            first = false;
            switch (key)
            {
                case "version": version ??= value; break;
                case "mode": mode ??= value; break;
                case "max_age": maxAge ??= value; break;
                case "mx": mx.Add(value); break;
            }
        }
        if (version != "STSv1") { error = version is null ? "no version" : $"version '{version}' is not STSv1"; return null; }
        MtaStsMode? parsedMode = mode switch { "enforce" => MtaStsMode.Enforce, "testing" => MtaStsMode.Testing, "none" => MtaStsMode.None, _ => null };
        if (parsedMode is null) { error = mode is null ? "no mode" : $"mode '{mode}' is not enforce, testing or none"; return null; }
        if (maxAge is null) { error = "no max_age"; return null; }
        if (maxAge.Length is 0 or > 10 || !maxAge.All(char.IsAsciiDigit) || long.Parse(maxAge) > MaxAgeLimit)
        { error = $"max_age '{maxAge}' is not a number of seconds up to {MaxAgeLimit}"; return null; }
        if (parsedMode != MtaStsMode.None && mx.Count == 0) { error = "no mx"; return null; }
        if (mx.FirstOrDefault(m => !IsPattern(m)) is { } bad) { error = $"mx '{bad}' is not a host name or *.domain"; return null; }
        error = "";
        return new MtaStsPolicy(parsedMode.Value, mx, TimeSpan.FromSeconds(long.Parse(maxAge)));
    }

    static bool IsPattern(string mx)
    {
        var host = (mx.StartsWith("*.", StringComparison.Ordinal) ? mx[2..] : mx).TrimEnd('.');
        return host.Length > 0 && host.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }
}
