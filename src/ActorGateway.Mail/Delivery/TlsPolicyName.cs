namespace ActorGateway.Mail.Delivery;

/// <summary>How a <see cref="TlsPolicySource"/> is written in the log and by actorgw: none, static, mta-sts, dane.</summary>
public static class TlsPolicyName
{
    public static string Of(TlsPolicySource source) => source switch
    {
        TlsPolicySource.Static => "static",
        TlsPolicySource.MtaSts => "mta-sts",
        TlsPolicySource.Dane => "dane",
        _ => "none",
    };
}
