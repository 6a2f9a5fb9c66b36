namespace ActorGateway.Mail.Delivery.TlsRpt;

/// <summary>
/// The TXT record at _smtp._tls.&lt;domain&gt; (RFC 8460 3): "v=TLSRPTv1; rua=mailto:a@example,https://...":
/// where a domain wants its daily TLS reports.
/// </summary>
public sealed record TlsRptRecord(IReadOnlyList<Uri> Rua)
{
    /// <summary>The one TLSRPTv1 record among the TXT records (strings joined), or null (none, several, malformed, no usable rua).</summary>
    public static TlsRptRecord? Find(IEnumerable<string> txtRecords)
    {
        var candidates = txtRecords.Where(t => t.StartsWith("v=TLSRPTv1", StringComparison.Ordinal)).ToList();
        return candidates.Count == 1 ? Parse(candidates[0]) : null;
    }

    public static TlsRptRecord? Parse(string text)
    {
        var fields = text.Split(';').Select(f => f.Trim()).Where(f => f.Length > 0).ToList();
        if (fields.Count == 0 || fields[0] != "v=TLSRPTv1") return null;
        var rua = fields.FirstOrDefault(f => f.StartsWith("rua=", StringComparison.Ordinal));
        if (rua is null) return null;
        var uris = new List<Uri>();
        foreach (var item in rua[4..].Split(','))
            if (Uri.TryCreate(item.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == "mailto" || uri.Scheme == Uri.UriSchemeHttps))
                uris.Add(uri);
        return uris.Count == 0 ? null : new TlsRptRecord(uris);
    }
}
